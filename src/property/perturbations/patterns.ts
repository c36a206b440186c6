/**
 * Random patterns of a perturbation value, drawn from its seed with robustest's Rng. A pattern
 * depends only on the seed and the shape of one input, never on the batch, so a value applies
 * the same change to an input wherever that input sits in a batch.
 */
import { Rng } from '../../engine/random.js';

/** Memoizes one pattern per input shape; values are immutable, so are their patterns. */
export function perShape<T>(make: (shape: readonly number[]) => T): (shape: readonly number[]) => T {
  const cache = new Map<string, T>();
  return (shape) => {
    const key = shape.join('x');
    let pattern = cache.get(key);
    if (pattern === undefined) {
      pattern = make(shape);
      cache.set(key, pattern);
    }
    return pattern;
  };
}

export function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Uniform in [-1, 1) per element. */
export function uniformPattern(seed: number, size: number): Float32Array {
  return new Rng(seed).split('uniform').fillUniform(new Float32Array(size), -1, 1);
}

/** Standard normal per element. */
export function normalPattern(seed: number, size: number): Float32Array {
  return new Rng(seed).split('normal').fillNormal(new Float32Array(size));
}

/** A standard normal direction scaled to unit L2 norm. */
export function unitL2Pattern(seed: number, size: number): Float32Array {
  const out = normalPattern(seed, size);
  let sum = 0;
  for (const v of out) sum += v * v;
  const norm = Math.sqrt(sum);
  for (let i = 0; i < out.length; i++) out[i] = out[i]! / norm;
  return out;
}

/**
 * The sites (pixel locations, or features) in the order a value picks them: a seeded
 * permutation, so the first k sites of a seed are the same for every k and shrinking the count
 * keeps a subset of the pixels.
 */
export function siteOrder(seed: number, sites: number): Int32Array {
  const order = Int32Array.from({ length: sites }, (_, i) => i);
  const rng = new Rng(seed).split('sites');
  for (let i = 0; i < sites - 1; i++) {
    const j = i + rng.int(sites - i);
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

/** Uniform in [0, 1) per site and channel. */
export function unitPattern(seed: number, stream: string, size: number): Float32Array {
  return new Rng(seed).split(stream).fillUniform(new Float32Array(size), 0, 1);
}

/**
 * Sites and channels of one input: NHWC images perturb whole pixels (all channels of a location
 * at once), other inputs perturb single features.
 */
export function siteLayout(shape: readonly number[]): { sites: number; channels: number } {
  if (shape.length === 3) return { sites: shape[0]! * shape[1]!, channels: shape[2]! };
  return { sites: product(shape), channels: 1 };
}
