/** Splits index ranges into batches; attacks and evaluate run per batch to bound memory. */
export const DEFAULT_BATCH_SIZE = 256;

/**
 * Most input values one batch holds by default: 2^22 float32 values, 16 MiB per input-sized
 * tensor, which bounds what an attack step keeps alive (activations, gradients, iterates).
 */
export const BATCH_VALUE_CAP = 2 ** 22;

/** Samples per batch when none is given: 256, fewer for large inputs to stay under the cap. */
export function defaultBatchSize(valuesPerSample: number): number {
  return Math.max(1, Math.min(DEFAULT_BATCH_SIZE, Math.floor(BATCH_VALUE_CAP / valuesPerSample)));
}

export function* batchRanges(count: number, batchSize: number): Generator<[start: number, end: number]> {
  const size = Math.max(1, Math.floor(batchSize));
  for (let start = 0; start < count; start += size) yield [start, Math.min(count, start + size)];
}
