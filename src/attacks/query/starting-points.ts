/**
 * Starting points for decision-based attacks, as Foolbox's blended uniform noise: draw uniform
 * noise inside the bounds until one draw is adversarial, then bisect the blend
 * (1 − α)·x + α·noise for the smallest adversarial α. For a targeted criterion, noise rarely
 * lands in the target class, so the other samples of the batch are tried too.
 */
import type { QueryOracle } from './oracle.js';

export interface StartOptions {
  /** Noise draws per sample before giving up. */
  draws: number;
  /** Draws per sample per model call. */
  drawsPerCall: number;
  /** Bisection steps on the blend factor. */
  blendSteps: number;
  /** Whether to also try the other samples' inputs (targeted attacks). */
  tryOtherSamples: boolean;
}

export const START_DEFAULTS: StartOptions = { draws: 100, drawsPerCall: 10, blendSteps: 12, tryOtherSamples: false };

/** Per sample an adversarial input (null where none was found within the budget). */
export async function blendedNoiseStart(oracle: QueryOracle, rows: readonly number[], options: StartOptions): Promise<(Float32Array | null)[]> {
  const found: (Float32Array | null)[] = new Array(oracle.count).fill(null);
  const rngs = new Map(rows.map((i) => [i, oracle.rng(i, 'starting-point')]));
  const tried = new Map(rows.map((i) => [i, 0]));
  let pending = rows.filter((i) => oracle.remaining(i) > 0);
  const others = (i: number) => (options.tryOtherSamples ? [...Array(oracle.count).keys()].filter((j) => j !== i) : []);

  while (pending.length > 0) {
    const asked: number[] = [];
    const candidates: Float32Array[] = [];
    for (const i of pending) {
      const budget = Math.min(options.drawsPerCall, oracle.remaining(i));
      for (let k = 0; k < budget; k++) {
        const n = tried.get(i)!;
        const pool = others(i);
        if (n >= options.draws + pool.length) break;
        tried.set(i, n + 1);
        asked.push(i);
        if (n < pool.length) candidates.push(oracle.originals[pool[n]!]!.slice());
        else candidates.push(rngs.get(i)!.fillUniform(new Float32Array(oracle.size), oracle.low, oracle.high));
      }
    }
    if (asked.length === 0) break;
    const verdicts = await oracle.decide(asked, candidates);
    verdicts.forEach((adv, k) => {
      const i = asked[k]!;
      if (adv && !found[i]) found[i] = candidates[k]!;
    });
    pending = pending.filter((i) => !found[i] && oracle.remaining(i) > 0 && tried.get(i)! < options.draws + others(i).length);
  }

  // Bisect α in (0, 1]: `high` blends stay adversarial.
  const withStart = rows.filter((i) => found[i]);
  const low = new Map(withStart.map((i) => [i, 0]));
  const high = new Map(withStart.map((i) => [i, 1]));
  const blend = (i: number, alpha: number): Float32Array => {
    const x = oracle.originals[i]!;
    const noise = found[i]!;
    const out = new Float32Array(x.length);
    for (let j = 0; j < x.length; j++) out[j] = (1 - alpha) * x[j]! + alpha * noise[j]!;
    return out;
  };
  for (let step = 0; step < options.blendSteps; step++) {
    const asked = withStart.filter((i) => oracle.remaining(i) > 0);
    if (asked.length === 0) break;
    const alphas = asked.map((i) => (low.get(i)! + high.get(i)!) / 2);
    const candidates = asked.map((i, k) => blend(i, alphas[k]!));
    const verdicts = await oracle.decide(asked, candidates);
    asked.forEach((i, k) => (verdicts[k] ? high : low).set(i, alphas[k]!));
  }
  for (const i of withStart) found[i] = blend(i, high.get(i)!);
  return found;
}
