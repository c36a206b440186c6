import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { classifier, onePixel } from '../../src/index.js';
import { expectSameRun, noLeak, recheck, twin } from './helpers.js';

/**
 * An 8 × 8 detector with one weak spot: class 1 wins only when the pixel at (5, 2) is brighter
 * than 0.8. Nothing else matters, so the search has to find that pixel and that value.
 */
const spot = (x: tf.Tensor) =>
  tf.tidy(() => {
    const pixel = tf.reshape(tf.slice(x, [0, 5, 2, 0], [-1, 1, 1, 1]), [-1, 1]);
    return tf.concat([tf.fill([x.shape[0], 1], 0.8), pixel], 1);
  });

describe('onePixel', () => {
  it('finds the single pixel that flips an analytic detector, changing exactly that pixel', async () => {
    const inputs = tf.zeros([3, 8, 8, 1]);
    const run = await noLeak(
      () => onePixel({ populationSize: 40, maxIterations: 20 }).run(classifier(spot, { outputs: 'logits' }), { inputs, labels: [0, 0, 0] }, { seed: 3 }),
      (r) => [r.adversarials],
    );
    expect(await recheck(run, { predict: spot, inputs, labels: [0, 0, 0], norm: 'l0', pixels: 1 })).toBe(3);
    const adv = (await run.adversarials.array()) as number[][][][];
    for (const image of adv) {
      expect(image[5]![2]![0]).toBeGreaterThan(0.8);
      expect(image.flat(2).filter((v) => v !== 0)).toHaveLength(1);
    }
    expect(run.distances).toEqual([1, 1, 1]);
    expect(run.gradientEvaluations).toBe(0);
    // Each sample stops after the generation in which it broke: whole generations of 40, plus
    // the clean prediction and the re-check.
    for (const q of run.queries) {
      expect((q - 2) % 40).toBe(0);
      expect(q).toBeLessThanOrEqual(40 * 21 + 2);
    }
    expect(Math.min(...run.queries)).toBeLessThan(40 * 21 + 2);
    tf.dispose([inputs, run.adversarials]);
  });

  it.each([1, 3])('on 3-channel images changes at most %i pixel(s), counted as pixels not channels', async (pixels) => {
    const model = twin('rgb-conv');
    const predict = (x: tf.Tensor) => model.predict(x) as tf.Tensor;
    const inputs = tf.randomUniform([8, 6, 6, 3], 0, 1, 'float32', 11);
    const labels = Array.from(tf.tidy(() => tf.argMax(predict(inputs), 1).dataSync()));
    const clf = classifier(model, { outputs: 'logits' });
    const attack = onePixel({ pixels, populationSize: 30, maxIterations: 10 });
    const run = await noLeak(() => attack.run(clf, { inputs, labels }, { seed: 9 }), (r) => [r.adversarials]);
    const broken = await recheck(run, { predict, inputs, labels, norm: 'l0', pixels });
    expect(broken).toBeGreaterThan(0);
    // L0 counts values: up to 3 per pixel.
    for (const [i, d] of run.distances.entries()) if (run.success[i]) expect(d).toBeLessThanOrEqual(3 * pixels);
    const budget = 30 * 11 + 2;
    for (const [i, q] of run.queries.entries()) {
      expect(q).toBeLessThanOrEqual(budget);
      if (!run.success[i]) expect(q).toBe(budget);
    }
    await expectSameRun(run, await attack.run(clf, { inputs, labels }, { seed: 9 }));
    tf.dispose([inputs, run.adversarials]);
  });

  it('pursues a target', async () => {
    const model = twin('rgb-conv');
    const predict = (x: tf.Tensor) => model.predict(x) as tf.Tensor;
    const inputs = tf.randomUniform([6, 6, 6, 3], 0, 1, 'float32', 5);
    const scores = tf.tidy(() => predict(inputs).arraySync() as number[][]);
    const labels = scores.map((z) => z.indexOf(Math.max(...z)));
    // The runner-up class: the easiest target.
    const targets = scores.map((z, i) => z.map((v, c) => (c === labels[i] ? -Infinity : v))).map((z) => z.indexOf(Math.max(...z)));
    const run = await onePixel({ pixels: 3, populationSize: 30, maxIterations: 10, target: targets }).run(classifier(model, { outputs: 'logits' }), { inputs, labels }, { seed: 1 });
    const hits = await recheck(run, { predict, inputs, labels, norm: 'l0', pixels: 3, targets });
    expect(hits).toBeGreaterThan(0);
    tf.dispose([inputs, run.adversarials]);
  });

  it('refuses bad options', () => {
    expect(() => onePixel({ pixels: 0 })).toThrow(/pixels/);
    expect(() => onePixel({ populationSize: 3 })).toThrow(/populationSize/);
    expect(() => onePixel({ maxIterations: 1.5 })).toThrow(/maxIterations/);
  });
});
