/**
 * The differentiable tfjs IBP equals the float64 IBP (float32 rounding apart) on networks with
 * every supported layer, has gradients in the weights, and leaves no tensor behind.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { ibpMargins } from '../../src/certify/ibp-tensors.js';
import { lowerLayersModel } from '../../src/certify/model.js';
import { MarginBounds } from '../../src/certify/margins.js';
import { BoundPropagation } from '../../src/certify/propagation.js';
import { region } from '../../src/certify/region.js';
import { Rng } from '../../src/engine/random.js';
import { branching, convolutional, denseRelu } from './networks.js';

describe('IBP as tfjs operations', () => {
  it.each([
    ['dense relu', () => denseRelu(51)],
    ['convolutional', () => convolutional(52)],
    ['branching', () => branching(53)],
  ])('equals the float64 IBP margins on the %s network', (_, build) => {
    const model = build();
    const shape = model.inputs[0]!.shape.slice(1) as number[];
    const n = shape.reduce((a, b) => a * b, 1);
    const rng = new Rng(5);
    const count = 3;
    const flat = Float32Array.from({ length: count * n }, () => rng.uniform(0, 1));
    const prop = new BoundPropagation(lowerLayersModel(model));
    const classes = prop.outputSize;
    const labels = Array.from({ length: count }, (_, i) => i % classes);
    const before = tf.memory().numTensors;
    const margins = tf.tidy(() => ibpMargins(model, tf.tensor(flat, [count, ...shape]), tf.tensor1d(labels, 'int32'), 0.03).arraySync());
    expect(tf.memory().numTensors).toBe(before);
    for (let i = 0; i < count; i++) {
      const bounds = new MarginBounds(prop, region(flat.subarray(i * n, (i + 1) * n), 0.03, 'linf', [0, 1]), labels[i]!);
      bounds.refine('ibp');
      const others = margins[i]!.filter((_, j) => j !== labels[i]);
      expect(margins[i]![labels[i]!]).toBe(0);
      others.forEach((m, k) => expect(m).toBeCloseTo(bounds.bounds[k]!, 4));
    }
    model.dispose();
  });

  it('has gradients in every weight (the IBP training loss)', () => {
    const model = denseRelu(54, [6, 8, 3]);
    const x = tf.randomUniform([4, 6], 0, 1, 'float32', 1);
    const labels = tf.tensor1d([0, 1, 2, 0], 'int32');
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(() => {
      const worst = tf.neg(ibpMargins(model, x, labels, 0.1));
      return tf.losses.softmaxCrossEntropy(tf.oneHot(labels, 3), worst) as tf.Scalar;
    });
    expect(Number.isFinite(value.dataSync()[0])).toBe(true);
    const kernels = model.trainableWeights.map((w) => grads[w.originalName]!);
    expect(kernels.every((g) => g && g.dataSync().every(Number.isFinite))).toBe(true);
    expect(kernels.some((g) => g.dataSync().some((v) => v !== 0))).toBe(true);
    tf.dispose([value, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, labels]);
    model.dispose();
  });
});
