/**
 * CROWN is not monotone in its intermediate bounds: on the bundled CNN, bounding a margin over the
 * L2 ball ∩ [0, 1] (a subset of the ball) gives a lower bound below the one over the ball alone,
 * because the tighter intermediate bounds change the adaptive relu lower slopes (1 if u > −l,
 * else 0) and a few max-pool choices. Both bounds are sound; the one over the ball is what
 * auto_LiRPA computes there (it does not intersect L2 balls with the box).
 */
import { describe, expect, it } from 'vitest';
import { specificationRows } from '../../src/certify/margins.js';
import { lowerLayersModel } from '../../src/certify/model.js';
import { BoundPropagation, type SlopeOverride } from '../../src/certify/propagation.js';
import { region } from '../../src/certify/region.js';
import { mnistSplit } from '../../examples/mnist/data.js';
import { loadMnistModel } from '../../examples/mnist/models.js';

describe('CROWN under tighter intermediate bounds', () => {
  it('can be looser over the L2 ball ∩ [0, 1] than over the ball alone, from its adaptive slopes (bundled CNN, test digit 19)', async () => {
    const model = await loadMnistModel('cnn');
    const prop = new BoundPropagation(lowerLayersModel(model));
    model.dispose();
    const digits = mnistSplit('test', 20);
    const x = digits.images.subarray(19 * 784, 20 * 784);
    const both = region(x, 0.1, 'l2', [0, 1]);
    const ball = region(x, 0.1, 'l2', [-Infinity, Infinity]);
    const output = prop.graph.output;
    const row = specificationRows(digits.labels[19]!, 10)[1]!;
    const overBoth = prop.linearBounds(both);
    const overBall = prop.linearBounds(ball);

    const tight = prop.lowerBound(output, row, both, overBoth);
    const loose = prop.lowerBound(output, row, ball, overBall);
    // The smaller set, the lower bound: 0.139 below.
    expect(loose - tight).toBeGreaterThan(0.02);
    // The ball's relaxations with the final minimum over the smaller set: at least the ball's bound.
    expect(prop.lowerBound(output, row, both, overBall)).toBeGreaterThanOrEqual(loose);
    // The tighter intermediate bounds with the ball's lower slopes beat both: the slopes are the cause.
    const slopes: SlopeOverride = new Map();
    prop.graph.nodes.forEach((node, i) => {
      const relaxation = overBall.relaxations[i];
      if (node.op.kind === 'relu' && relaxation && 'lowerSlope' in relaxation) slopes.set(i, relaxation.lowerSlope);
    });
    expect(prop.lowerBound(output, row, both, overBoth, slopes)).toBeGreaterThan(loose + 0.5);
  });
});
