/**
 * Additive noise and salt-and-pepper as severity searches. The noise pattern is drawn once per
 * sample; the severity scales it (Gaussian σ, uniform half-width a, both in input units) or,
 * for salt-and-pepper, sets the fraction p of pixels forced to the bounds (a pixel's channels
 * move together). Reported norms: L2 for additive noise, L0 (values changed) for
 * salt-and-pepper.
 */
import type { Rng } from '../../engine/random.js';
import type { Attack } from '../types.js';
import { geometry } from '../query/oracle.js';
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

/** Salt-and-pepper: a fraction p of pixels set to the upper (salt) or lower (pepper) bound. */
export function saltAndPepper(options: CorruptionOptions = {}): Attack {
  return corruptionAttack(
    {
      name: 'SaltAndPepper',
      severity: 'p',
      norm: 'l0',
      maxSeverity: () => 1,
      prepare({ x, shape, bounds: [low, high], rng }) {
        const { channels } = geometry(shape);
        const pixels = x.length / channels;
        const r = rng.fillUniform(new Float32Array(pixels), 0, 1);
        return (p) => {
          const out = x.slice();
          for (let q = 0; q < pixels; q++) {
            const value = r[q]! < p / 2 ? high : r[q]! >= 1 - p / 2 ? low : null;
            if (value !== null) for (let c = 0; c < channels; c++) out[q * channels + c] = value;
          }
          return out;
        };
      },
    },
    'saltAndPepper',
    options,
  );
}
