/**
 * certify() lowers a model once per weight values: a second call on the same model reuses the
 * lowering (same margins, bit for bit), and a model whose weights changed (training assigns its
 * variables) is lowered again, giving the margins of a fresh copy with those weights. More than
 * 64 samples (one block of IBP bounds handed to CROWN) and both norms.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { certify } from '../../src/index.js';
import { Rng } from '../../src/engine/random.js';
import { classifier } from '../../src/model/classifier.js';
import { denseRelu } from './networks.js';

function samples(count: number, seed: number) {
  const rng = new Rng(seed);
  return { inputs: tf.tensor2d(Float32Array.from({ length: count * 6 }, () => rng.uniform(0, 1)), [count, 6]), labels: Array.from({ length: count }, () => rng.int(4)) };
}

const margins = (report: Awaited<ReturnType<typeof certify>>) => report.samples.map((s) => s.margins);

describe('certify() on a model seen before', () => {
  it('reuses its lowering while the weights are the same and lowers it again once they change', async () => {
    const model = denseRelu(41, [6, 16, 16, 4]);
    const data = samples(70, 2);
    const before = tf.memory().numTensors;
    for (const norm of ['linf', 'l2'] as const) {
      const options = { epsilons: [0.01, 0.05], norm, method: 'crown' as const };
      const first = await certify(model, data, options);
      const again = await certify(model, data, options);
      expect(margins(again)).toEqual(margins(first));
      // The same model wrapped once and reused: its own entry, the same margins.
      const clf = classifier(model);
      expect(margins(await certify(clf, data, options))).toEqual(margins(first));
      expect(margins(await certify(clf, data, options))).toEqual(margins(first));
    }
    expect(tf.memory().numTensors).toBe(before);
    // Training-like change: every kernel assigned new values.
    const changed = denseRelu(42, [6, 16, 16, 4]);
    model.layers.forEach((layer, k) => layer.setWeights(changed.layers[k]!.getWeights()));
    const assigned = tf.memory().numTensors;
    for (const norm of ['linf', 'l2'] as const) {
      const options = { epsilons: [0.01, 0.05], norm, method: 'crown' as const };
      const updated = await certify(model, data, options);
      const fresh = await certify(changed, data, options);
      expect(margins(updated)).toEqual(margins(fresh));
    }
    expect(tf.memory().numTensors).toBe(assigned);
    data.inputs.dispose();
    model.dispose();
    changed.dispose();
  });
});
