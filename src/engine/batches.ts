/**
 * Batch sizes. Attacks, evaluation and fuzzing run per batch so that memory is bounded by the
 * batch, never by the number of samples; a batch that still does not fit is split and retried.
 */
import * as tf from '@tensorflow/tfjs-core';
import { verdictLogits, type Classifier } from '../model/classifier.js';
import { outOfMemory } from '../model/failure.js';
import { sliceRows } from './tfjs/rows.js';

export const DEFAULT_BATCH_SIZE = 256;

/**
 * Most input values one batch holds by default: 2^22 float32 values, 16 MiB per input-sized
 * tensor, which bounds what an attack step keeps alive (iterates, gradients, noise).
 */
export const BATCH_VALUE_CAP = 2 ** 22;

/**
 * Most bytes one batch's gradient may hold at its peak by default, with a margin of SAFETY for
 * what attacks keep beside it; 1 GiB leaves room in the wasm heap (4 GiB at most, and it never
 * shrinks) for everything else.
 */
export const ACTIVATION_BUDGET = 2 ** 30;
const SAFETY = 1.5;

/** Samples per batch when none is given: 256, fewer for large inputs to stay under the cap. */
export function defaultBatchSize(valuesPerSample: number): number {
  return Math.max(1, Math.min(DEFAULT_BATCH_SIZE, Math.floor(BATCH_VALUE_CAP / valuesPerSample)));
}

const forwardBytes = new WeakMap<Classifier, number>();

/** Peak bytes of one sample's input gradient, measured once per classifier. */
async function bytesPerSample(clf: Classifier, sample: tf.Tensor): Promise<number> {
  let bytes = forwardBytes.get(clf);
  if (bytes === undefined) {
    // A model that fails here fails the run itself, with its own message; sizing falls back to the value cap.
    const measured = await Promise.resolve(clf.activationBytes?.(sample)).catch(() => 0);
    bytes = Math.max(measured ?? 0, sample.size * 4);
    forwardBytes.set(clf, bytes);
  }
  return bytes;
}

/**
 * The default batch for `clf` on inputs like `inputs`: the value cap, and the activation budget
 * for `rowsPerSample` model rows per sample (an attack that linearises towards several classes at
 * once runs several).
 */
export async function batchSizeFor(clf: Classifier, inputs: tf.Tensor, rowsPerSample = 1): Promise<number> {
  const first = tf.slice(inputs, 0, 1);
  try {
    const bytes = await bytesPerSample(clf, first);
    const byActivations = Math.floor(ACTIVATION_BUDGET / (SAFETY * bytes * rowsPerSample));
    const byValues = defaultBatchSize((inputs.size / inputs.shape[0]!) * rowsPerSample);
    return Math.max(1, Math.min(byValues, byActivations));
  } finally {
    first.dispose();
  }
}

export function* batchRanges(count: number, batchSize: number): Generator<[start: number, end: number]> {
  const size = Math.max(1, Math.floor(batchSize));
  for (let start = 0; start < count; start += size) yield [start, Math.min(count, start + size)];
}

/**
 * Runs `work` on the items in batches of `batchSize`; a batch that runs out of memory is split in
 * halves and each retried, down to single items. Results come back in order. Per-sample
 * randomness is keyed by sample identity, so a split never changes a result.
 */
export async function inBatches<T, R>(items: readonly T[], batchSize: number, work: (batch: T[]) => Promise<R[]>): Promise<R[]> {
  const out: R[] = [];
  const run = async (batch: T[]): Promise<void> => {
    try {
      out.push(...(await work(batch)));
    } catch (error) {
      if (!outOfMemory(error) || batch.length === 1) throw error;
      const half = Math.ceil(batch.length / 2);
      await run(batch.slice(0, half));
      await run(batch.slice(half));
    }
  };
  for (const [start, end] of batchRanges(items.length, batchSize)) await run(items.slice(start, end));
  return out;
}

/** Class scores of every row of `inputs` from the model's own runtime (verdictLogits), batch by batch, as one [N, classes] array. */
export async function logitsInBatches(clf: Classifier, inputs: tf.Tensor, batchSize: number): Promise<{ data: Float32Array; classes: number }> {
  const rows = [...Array(inputs.shape[0]!).keys()];
  let classes = 0;
  const chunks = await inBatches(rows, batchSize, async (batch) => {
    const x = sliceRows(inputs, batch[0]!, batch.length);
    try {
      const z = await verdictLogits(clf, x);
      classes = z.shape[1];
      const data = (await z.data()) as Float32Array;
      z.dispose();
      return [data];
    } finally {
      x.dispose();
    }
  });
  const data = new Float32Array(rows.length * classes);
  let offset = 0;
  for (const chunk of chunks) {
    data.set(chunk, offset);
    offset += chunk.length;
  }
  return { data, classes };
}
