/**
 * The L2 bound at the dense layer that reads the input, from its Gram matrix, against the
 * definition: the larger of the box's and the ball's minimum of (Wᵀλ)·x, found from Wᵀλ itself.
 * It is never above that (sound) and equals it to rounding, whether the box is skipped or wins.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/random.js';
import { BallThroughDense } from '../../src/certify/ball-input.js';
import type { BoundGraph } from '../../src/certify/graph.js';
import { DenseBound } from '../../src/certify/ops/dense.js';
import { ReshapeBound } from '../../src/certify/ops/shape.js';
import { LeakyReluBound } from '../../src/certify/ops/activation.js';
import { minimize, region } from '../../src/certify/region.js';

function dense(kernel: Float64Array, inputs: number, units: number): DenseBound {
  return new DenseBound('dense', [inputs], kernel, [inputs, units], null);
}

/** input [h, w] → reshape → dense → relu. */
function graph(op: DenseBound, inputs: number, units: number): BoundGraph {
  return {
    nodes: [
      { op: new ReshapeBound('flatten', [inputs]), inputs: [0], output: 1 },
      { op, inputs: [1], output: 2 },
      { op: new LeakyReluBound('relu', [units], 0), inputs: [2], output: 3 },
    ],
    input: 0,
    output: 3,
    shapes: [[inputs / 2, 2], [inputs], [units], [units]],
    peeledSoftmax: false,
  };
}

/** The definition: Wᵀλ formed, then the larger of the box's and the ball's minimum. */
function direct(op: DenseBound, lambda: Float64Array, inputs: number, r: ReturnType<typeof region>): number {
  const g = new Float64Array(inputs);
  op.transpose(lambda, [g]);
  return minimize(r, g);
}

describe('the L2 bound at the dense layer reading the input', () => {
  it('is found only where the input is read through reshapes and one dense layer', () => {
    const op = dense(new Float64Array(12), 4, 3);
    expect(BallThroughDense.find(graph(op, 4, 3))?.node).toBe(1);
    const relu = new LeakyReluBound('relu', [4], 0);
    const first: BoundGraph = { nodes: [{ op: relu, inputs: [0], output: 1 }, { op, inputs: [1], output: 2 }], input: 0, output: 2, shapes: [[4], [4], [3]], peeledSoftmax: false };
    expect(BallThroughDense.find(first)).toBeNull();
  });

  it('equals the larger of the box’s and the ball’s minimum on background images and dense ones, never above it', () => {
    const rng = new Rng(21);
    const inputs = 64;
    const units = 12;
    const kernel = Float64Array.from({ length: inputs * units }, () => rng.normal() * 0.3);
    const op = dense(kernel, inputs, units);
    const ball = BallThroughDense.find(graph(op, inputs, units))!;
    for (let k = 0; k < 30; k++) {
      const background = k % 2 === 0;
      const x = Float64Array.from({ length: inputs }, () => (background && rng.uniform(0, 1) < 0.8 ? 0 : rng.uniform(0, 1)));
      const r = region(x, [0.05, 0.3, 1][k % 3]!, 'l2', [0, 1]);
      const lambda = Float64Array.from({ length: units }, () => (rng.uniform(0, 1) < 0.3 ? 0 : rng.normal()));
      const expected = direct(op, lambda, inputs, r);
      const found = ball.lowerBound(lambda, r);
      expect(found).toBeLessThanOrEqual(expected + 1e-12);
      expect(found).toBeGreaterThanOrEqual(expected - 1e-9 * (1 + Math.abs(expected)));
    }
  });

  it('bounds a block of rows as each row alone', () => {
    const rng = new Rng(22);
    const inputs = 48;
    const units = 10;
    const op = dense(Float64Array.from({ length: inputs * units }, () => rng.normal() * 0.3), inputs, units);
    const ball = BallThroughDense.find(graph(op, inputs, units))!;
    const x = Float64Array.from({ length: inputs }, () => (rng.uniform(0, 1) < 0.7 ? 0 : rng.uniform(0, 1)));
    for (const epsilon of [0.02, 0.5, 3]) {
      const r = region(x, epsilon, 'l2', [0, 1]);
      const rows = 13;
      // Rows using different units, one of them none.
      const lambdas = Float64Array.from({ length: rows * units }, (_, k) => (Math.floor(k / units) === 4 || rng.uniform(0, 1) < 0.4 ? 0 : rng.normal()));
      const block = ball.lowerBounds(lambdas, rows, r);
      for (let j = 0; j < rows; j++) {
        const lambda = lambdas.slice(j * units, (j + 1) * units);
        expect(block[j]).toBe(ball.lowerBound(lambda, r));
        expect(block[j]).toBeLessThanOrEqual(direct(op, lambda, inputs, r) + 1e-12);
      }
    }
  });

  it('takes the box where it is tighter than the ball (the weight of one input alone)', () => {
    const inputs = 16;
    // W = I: Wᵀλ = λ, and λ = e₅ bounds x₅ alone: the box [x₅ − m, …] beats the ball's x₅ − ε.
    const kernel = new Float64Array(inputs * inputs);
    for (let i = 0; i < inputs; i++) kernel[i * inputs + i] = 1;
    const op = dense(kernel, inputs, inputs);
    const ball = BallThroughDense.find(graph(op, inputs, inputs))!;
    const x = new Float64Array(inputs);
    x[5] = 0.05;
    const r = region(x, 0.3, 'l2', [0, 1]);
    const lambda = new Float64Array(inputs);
    lambda[5] = 1;
    expect(ball.lowerBound(lambda, r)).toBeCloseTo(0, 12);
    expect(direct(op, lambda, inputs, r)).toBeCloseTo(0, 12);
    // The ball alone would give 0.05 − 0.3.
    lambda[5] = -1;
    expect(ball.lowerBound(lambda, r)).toBeCloseTo(-0.35, 12);
  });
});
