/**
 * Additive noise as severity searches. The noise pattern is drawn once per sample; the
 * severity scales it (Gaussian σ, uniform half-width a, both in input units). Reported norm: L2.
 * Salt-and-pepper, an L0 search over fresh patterns, lives in salt-and-pepper.ts.
 */
import type { Rng } from '../../engine/random.js';
import type { Attack } from '../types.js';
import { corruptionAttack, type Corruption, type CorruptionOptions } from './search.js';

const additive = (name: string, severity: string, draw: (rng: Rng, out: Float32Array) => void): Corruption => ({
  name,
  severity,
  norm: 'l2',
  maxSeverity: (_shape, [low, high]) => high - low,
  prepare({ x, bounds: [low, high], rng }) {
    const noise = new Float32Array(x.length);
    draw(rng, noise);
    return (s) => {
      const out = new Float32Array(x.length);
      for (let j = 0; j < x.length; j++) out[j] = Math.min(high, Math.max(low, x[j]! + s * noise[j]!));
      return out;
    };
  },
});

/** Additive Gaussian noise x + σ·n, n ~ N(0, 1) per value; σ searched up to the bounds' width. */
export function gaussianNoise(options: CorruptionOptions = {}): Attack {
  return corruptionAttack(
    additive('GaussianNoise', 'σ', (rng, out) => rng.fillNormal(out)),
    'gaussianNoise',
    options,
  );
}

/** Additive uniform noise x + a·u, u ~ U(−1, 1) per value; a searched up to the bounds' width. */
export function uniformNoise(options: CorruptionOptions = {}): Attack {
  return corruptionAttack(
    additive('UniformNoise', 'a', (rng, out) => rng.fillUniform(out, -1, 1)),
    'uniformNoise',
    options,
  );
}
