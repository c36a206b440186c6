/** Splits index ranges into batches; attacks and evaluate run per batch to bound memory. */
export const DEFAULT_BATCH_SIZE = 256;

export function* batchRanges(count: number, batchSize: number): Generator<[start: number, end: number]> {
  const size = Math.max(1, Math.floor(batchSize));
  for (let start = 0; start < count; start += size) yield [start, Math.min(count, start + size)];
}
