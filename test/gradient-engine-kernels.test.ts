/**
 * The engine's own kernels against tfjs's: pooling input gradients (max and average, every
 * geometry, ties), row selection, sign, the cpu matrix product and the L∞ PGD step, on cpu and
 * wasm, leaving no tensor behind.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { avgPoolBackpropHost, maxPoolBackpropHost } from '../src/engine/tfjs/pool-kernels.js';
import { replaceRows, takeRows } from '../src/engine/tfjs/rows.js';
import { sign } from '../src/engine/tfjs/sign.js';
import { crossEntropyLogitGradient, logitGradientOf, withLogitGradient } from '../src/engine/tfjs/closed-form.js';
import { layersNetwork } from './support/layers-network.js';
import { matMulHost } from '../src/engine/tfjs/host-matmul.js';
import { linfStep } from '../src/attacks/linf-step.js';
import { ascentDirection, clipToBounds, projectToBall } from '../src/attacks/steps.js';
import type { LossFn } from '../src/engine/tfjs/types.js';

const BACKENDS = ['cpu', 'wasm'] as const;

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.setBackend('cpu');
});

/** Runs `body` on each backend and checks it leaves the tensor count unchanged. */
async function onEachBackend(body: (backend: string) => void): Promise<void> {
  for (const backend of BACKENDS) {
    await tf.setBackend(backend);
    const before = tf.memory().numTensors;
    body(backend);
    expect(tf.memory().numTensors, `tensors left on ${backend}`).toBe(before);
  }
}

function values(t: tf.Tensor): number[] {
  return Array.from(t.dataSync());
}

/** Values of a tensor computed for the comparison only (freed right away). */
function computed(body: () => tf.Tensor): number[] {
  const t = tf.tidy(body);
  const v = values(t);
  t.dispose();
  return v;
}

/** Equal up to float summation order (overlapping windows add several contributions). */
function expectClose(got: number[], expected: ArrayLike<number>): void {
  expect(got.length).toBe(expected.length);
  const worst = got.reduce((m, v, i) => Math.max(m, Math.abs(v - expected[i]!)), 0);
  expect(worst).toBeLessThan(1e-5);
}

/** Quantised values: many exact ties inside pooling windows. */
function tiedInput(shape: number[], seed: number): tf.Tensor4D {
  return tf.tidy(() => tf.div(tf.round(tf.mul(tf.randomUniform(shape, -1, 1, 'float32', seed), 2)), 2)) as tf.Tensor4D;
}

describe('pooling input gradients', () => {
  const geometries: [string, number[], [number, number], [number, number], 'valid' | 'same'][] = [
    ['2×2 tiles', [2, 6, 8, 3], [2, 2], [2, 2], 'valid'],
    ['2×2 over odd sizes', [2, 7, 5, 2], [2, 2], [2, 2], 'valid'],
    ['2×2 same over odd sizes', [2, 7, 5, 2], [2, 2], [2, 2], 'same'],
    ['3×3 stride 2 (overlapping)', [2, 9, 9, 2], [3, 3], [2, 2], 'valid'],
    ['3×3 stride 1 same', [1, 6, 6, 2], [3, 3], [1, 1], 'same'],
    ['2×3 stride 1×2', [2, 7, 8, 1], [2, 3], [1, 2], 'valid'],
  ];

  for (const [name, shape, filter, strides, pad] of geometries) {
    it(`max pooling, ${name}: equals tf.grad on cpu, ties included`, async () => {
      await tf.setBackend('cpu');
      const x = tiedInput(shape, 1);
      const y = tf.maxPool(x, filter, strides, pad);
      const dy = tf.randomNormal(y.shape, 0, 1, 'float32', 2);
      const expected = values(tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(v as tf.Tensor4D, filter, strides, pad), dy)))(x));
      await onEachBackend(() => {
        const pooled = tf.maxPool(x, filter, strides, pad);
        const got = maxPoolBackpropHost(x, pooled, dy, { filterSize: filter, strides, pad, reluGate: false });
        expectClose(values(got), expected);
        tf.dispose([got, pooled]);
      });
    });

    it(`max pooling, ${name}: the relu gate drops exactly the windows whose maximum is ≤ 0`, async () => {
      await tf.setBackend('cpu');
      const x = tf.relu(tiedInput(shape, 3)) as tf.Tensor4D;
      const y = tf.maxPool(x, filter, strides, pad);
      const dy = tf.randomNormal(y.shape, 0, 1, 'float32', 4);
      const gatedDy = tf.mul(dy, tf.step(y));
      const expected = values(tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(v as tf.Tensor4D, filter, strides, pad), gatedDy)))(x));
      await onEachBackend(() => {
        const got = maxPoolBackpropHost(x, y, dy, { filterSize: filter, strides, pad, reluGate: true });
        expectClose(values(got), expected);
        got.dispose();
      });
    });

    it(`average pooling, ${name}: the exact gradient of the forward pass`, async () => {
      await tf.setBackend('cpu');
      const x: tf.Tensor4D = tf.randomNormal(shape as [number, number, number, number], 0, 1, 'float32', 5);
      const dy = tf.randomNormal(tf.avgPool(x, filter, strides, pad).shape, 0, 1, 'float32', 6);
      // Reference from the definition: avgPool is linear, so its gradient is the transpose of its
      // matrix, read off column by column with unit inputs.
      const size = x.size / shape[0]!;
      const expected = new Float32Array(x.size);
      for (let b = 0; b < shape[0]!; b++) {
        for (let i = 0; i < size; i++) {
          const unit = tf.tidy(() => tf.cast(tf.reshape(tf.oneHot(tf.tensor1d([i], 'int32'), size), [1, shape[1]!, shape[2]!, shape[3]!]), 'float32') as tf.Tensor4D);
          const column = tf.tidy(() => tf.sum(tf.mul(tf.avgPool(unit, filter, strides, pad), tf.slice(dy, b, 1))).dataSync()[0]!);
          expected[b * size + i] = column;
          unit.dispose();
        }
      }
      await onEachBackend(() => {
        const got = avgPoolBackpropHost(x, dy, { filterSize: filter, strides, pad });
        expectClose(values(got), expected);
        got.dispose();
      });
    });
  }
});

describe('row selection', () => {
  const cases: [string, tf.DataType, number[]][] = [
    ['float32 images', 'float32', [6, 4, 3, 2]],
    ['int32 rows', 'int32', [5, 7]],
    ['bool rows', 'bool', [4, 3]],
  ];
  for (const [name, dtype, shape] of cases) {
    it(`takeRows and replaceRows on ${name} equal tf.gather formulations`, async () => {
      await onEachBackend(() => {
        const t = tf.tidy(() => tf.cast(tf.round(tf.randomUniform(shape, -5, 5, 'float32', 7)), dtype));
        const positions = [3, 0, 3, shape[0]! - 1];
        const taken = takeRows(t, positions);
        expect(taken.shape).toEqual([positions.length, ...shape.slice(1)]);
        expect(taken.dtype).toBe(dtype);
        expect(values(taken)).toEqual(computed(() => tf.gather(t, positions)));
        const rows = [shape[0]! - 1, 1];
        const replacement = takeRows(t, [0, 2]);
        const replaced = replaceRows(t, rows, replacement);
        const index = Array.from({ length: shape[0]! }, (_, i) => i);
        index[rows[0]!] = 0;
        index[rows[1]!] = 2;
        expect(values(replaced)).toEqual(computed(() => tf.gather(t, index)));
        const none = takeRows(t, []);
        expect(none.shape).toEqual([0, ...shape.slice(1)]);
        none.dispose();
        tf.dispose([t, taken, replacement, replaced]);
      });
    });
  }

  it('rows outside the tensor are an error, not garbage', async () => {
    await onEachBackend(() => {
      const t = tf.zeros([3, 2]);
      expect(() => takeRows(t, [3])).toThrow(RangeError);
      expect(() => takeRows(t, [-1])).toThrow(RangeError);
      const two = tf.zeros([2, 2]);
      expect(() => replaceRows(t, [0, 5], two)).toThrow(RangeError);
      tf.dispose([t, two]);
    });
  });
});

describe('sign', () => {
  it('equals tf.sign on every backend, including 0, −0, ±∞ and NaN', async () => {
    await tf.setBackend('cpu');
    const data = [-3, -0.5, -0, 0, 1e-30, 2, Infinity, -Infinity, NaN];
    const expected = computed(() => tf.sign(tf.tensor1d(data)));
    await onEachBackend(() => {
      const x = tf.tensor1d(data);
      const got = sign(x);
      expect(values(got)).toEqual(expected);
      tf.dispose([x, got]);
    });
  });
});

describe('matrix product on host memory', () => {
  it('equals tf.matMul (+ bias, relu) for row counts that are and are not multiples of four', async () => {
    for (const [m, k, n] of [
      [8, 5, 3],
      [7, 16, 9],
      [1, 3, 2],
      [6, 784, 10],
    ] as const) {
      await tf.setBackend('cpu');
      const a = tf.randomNormal([m, k], 0, 1, 'float32', m);
      const b = tf.randomNormal([k, n], 0, 1, 'float32', k);
      const bias = tf.randomNormal([n], 0, 1, 'float32', n);
      const plain = computed(() => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D));
      const fused = computed(() => tf.relu(tf.add(tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D), bias)));
      await onEachBackend(() => {
        expectClose(computed(() => matMulHost(a as tf.Tensor2D, b as tf.Tensor2D, null, false)), plain);
        const got = computed(() => matMulHost(a as tf.Tensor2D, b as tf.Tensor2D, bias, true));
        expectClose(got, fused);
        if (m * n >= 20) expect(got.some((v) => v === 0) && got.some((v) => v > 0)).toBe(true);
      });
      await tf.setBackend('cpu');
      tf.dispose([a, b, bias]);
    }
  });
});

describe('the L∞ PGD step', () => {
  it('gives the values of the op sequence it replaces: sign, step, projection, bounds (zero and NaN gradients included)', async () => {
    for (const [size, epsilon, bounds] of [
      [0.0125, 0.1, [0, 1]],
      [0.1 / 3, 0.07, [0, 1]],
      [0.3, 0.2, [-1, 0.5]],
    ] as const) {
      await onEachBackend(() => {
        const [x0, x, g] = tf.tidy(() => {
          const x0 = tf.clipByValue(tf.randomUniform([40, 30], -0.2, 1.2, 'float32', 1), bounds[0], bounds[1]);
          const x = tf.clipByValue(tf.add(x0, tf.randomUniform([40, 30], -epsilon, epsilon, 'float32', 2)), bounds[0], bounds[1]);
          const sparse = tf.mul(tf.randomNormal([40, 30], 0, 1, 'float32', 3), tf.cast(tf.greater(tf.randomUniform([40, 30], 0, 1, 'float32', 4), 0.3), 'float32'));
          return [x0, x, tf.where(tf.greater(tf.randomUniform([40, 30], 0, 1, 'float32', 5), 0.95), tf.fill([40, 30], NaN), sparse)];
        });
        const expected = computed(() => clipToBounds(projectToBall(tf.add(x, tf.mul(ascentDirection(g, 'linf'), size)), x0, epsilon, 'linf'), bounds));
        const got = computed(() => linfStep(x, g, x0, size, epsilon, bounds));
        expect(got).toEqual(expected);
        // The step moved most values, and the projection and bounds both bit.
        expect(got.filter((v, i) => v !== values(x)[i]).length).toBeGreaterThan(got.length / 2);
        tf.dispose([x0, x, g]);
      });
    }
  });
});

describe('closed-form loss heads', () => {
  const labels = Int32Array.from([0, 2, 1, 2]);
  const targets = Int32Array.from([1, 1, 0, 0]);
  /** The attack objective written as tf ops, differentiated by tf.grad. */
  const crossEntropy = (towards: Int32Array, sign: 1 | -1): LossFn => (z) =>
    tf.tidy(() => tf.mul(tf.sub(tf.logSumExp(z, 1), tf.sum(tf.mul(z, tf.oneHot(tf.tensor1d(towards, 'int32'), 3)), 1)), sign) as tf.Tensor1D);

  it('cross-entropy, untargeted and targeted: the same values and logit gradients as tf.grad', async () => {
    for (const [closed, reference] of [
      [crossEntropyLogitGradient(labels, null), crossEntropy(labels, 1)],
      [crossEntropyLogitGradient(labels, targets), crossEntropy(targets, -1)],
    ] as const) {
      await onEachBackend(() => {
        const z = tf.randomNormal([4, 3], 0, 3, 'float32', 9) as tf.Tensor2D;
        const got = closed(z);
        expectClose(values(got.loss), computed(() => reference(z)));
        expectClose(values(got.gradient), computed(() => tf.grad((v: tf.Tensor) => tf.sum(reference(v as tf.Tensor2D)))(z)));
        tf.dispose([z, got.loss, got.gradient]);
      });
    }
  });

  it('the network takes the logit gradient from the closed form when the loss carries one', async () => {
    await tf.setBackend('cpu');
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [5], units: 3, kernelInitializer: tf.initializers.glorotNormal({ seed: 10 }) })] });
    const network = layersNetwork(model)!;
    const x = tf.randomNormal([4, 5], 0, 1, 'float32', 11);
    const plain = crossEntropy(labels, 1);
    const closed = withLogitGradient(plain, crossEntropyLogitGradient(labels, null));
    // A closed form that doubles the gradient shows which path was taken.
    const doubled = withLogitGradient(plain, (z) => tf.tidy(() => {
      const r = crossEntropyLogitGradient(labels, null)(z);
      return { loss: r.loss, gradient: tf.mul(r.gradient, 2) as tf.Tensor2D };
    }));
    expect(logitGradientOf(plain)).toBeUndefined();
    const run = (loss: LossFn) => {
      const r = network.valueAndGradient(x, loss);
      const out = { loss: values(r.loss), gradient: values(r.gradient) };
      tf.dispose([r.logits, r.loss, r.gradient]);
      return out;
    };
    const viaTape = run(plain);
    const viaClosedForm = run(closed);
    expectClose(viaClosedForm.loss, viaTape.loss);
    expectClose(viaClosedForm.gradient, viaTape.gradient);
    expectClose(run(doubled).gradient, viaTape.gradient.map((g) => 2 * g));
    x.dispose();
  });
});
