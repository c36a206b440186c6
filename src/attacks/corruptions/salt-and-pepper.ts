/**
 * Salt-and-pepper noise as a minimization attack in L0. First Foolbox 3's search
 * (SaltAndPepperNoiseAttack): at every step a fresh random pattern sets each pixel to the upper
 * bound with probability p/2 and to the lower bound with probability p/2 (a pixel's channels
 * move together); p climbs from 1/steps, and each time a pattern is adversarial with fewer changed
 * pixels than the best so far, the search narrows to [p/2, 1.2p] and spends its remaining steps
 * there. Then a repair phase Foolbox does not have: pixels of the best pattern are put back to
 * their clean values, many at a time and then one by one, keeping every change after which the
 * input is still adversarial. Both phases only ever keep adversarial candidates, so the repair
 * can only lower the count.
 */
import type { Rng } from '../../engine/random.js';
import { NORM_SYMBOL } from '../../norms.js';
import { defineAttack } from '../runner.js';
import { checkCriterion, checkInteger, checkKnownOptions, checkTarget } from '../options.js';
import { describeTarget, geometry, QueryOracle } from '../query/oracle.js';
import type { Attack, CriterionSpec, TargetSpec } from '../types.js';

export interface SaltAndPepperOptions {
  /** Random patterns tried per sample (Foolbox's `steps`). Default 1000. */
  steps?: number;
  /** Queries per sample spent putting pixels back. Default 300. */
  repairs?: number;
  target?: TargetSpec;
  criterion?: CriterionSpec;
}

export const SALT_AND_PEPPER_DEFAULTS = { steps: 1000, repairs: 300 } as const;

/** Failed reverts of one group size before the group is halved. */
const FAILS_PER_SIZE = 3;

export function saltAndPepper(options: SaltAndPepperOptions = {}): Attack {
  checkKnownOptions(options, ['steps', 'repairs', 'target', 'criterion'], 'saltAndPepper');
  const steps = checkInteger(options.steps ?? SALT_AND_PEPPER_DEFAULTS.steps, 'steps', 'saltAndPepper', 1);
  const repairs = checkInteger(options.repairs ?? SALT_AND_PEPPER_DEFAULTS.repairs, 'repairs', 'saltAndPepper', 0);
  const target = checkTarget(options.target, 'saltAndPepper');
  const criterion = checkCriterion(options.criterion, target, { targeted: true, topK: true }, 'saltAndPepper');
  return defineAttack({
    name: 'SaltAndPepper',
    norm: 'l0',
    kind: 'minimization',
    requiresGradients: false,
    reportsParameters: true,
    options: { steps, repairs, target, criterion },
    describe: (o) => `SaltAndPepper (${NORM_SYMBOL.l0}, ${steps} random patterns + ${repairs} repairs${describeTarget(o.target)})`,
    async perturb(ctx) {
      const oracle = await QueryOracle.create(ctx, steps + repairs);
      const { channels } = geometry(oracle.sampleShape);
      const best = await searchPatterns(oracle, channels, steps);
      await repair(oracle, channels, best, repairs);
      return oracle.toTensor(
        best.map((b, i) => {
          if (!b) return oracle.originals[i]!;
          oracle.record(i, { p: b.p, pixels: b.pixels.length });
          return b.input;
        }),
      );
    },
  });
}

interface Best {
  input: Float32Array;
  /** Changed pixels (indices of pixels, not values). */
  pixels: number[];
  /** The noise probability of the pattern found by the search. */
  p: number;
}

/** Foolbox's schedule of p, per sample, over fresh patterns; keeps the adversarial with fewest changed pixels. */
async function searchPatterns(oracle: QueryOracle, channels: number, steps: number): Promise<(Best | null)[]> {
  const all = [...Array(oracle.count).keys()];
  const rngs = all.map((i) => oracle.rng(i, 'salt-and-pepper'));
  const best: (Best | null)[] = all.map(() => null);
  const bestCount = all.map(() => Infinity);
  const low = all.map(() => 0);
  const high = all.map(() => 1);
  const stepSize = all.map(() => 1 / steps);
  const p = stepSize.slice();
  for (let step = 0; step < steps; step++) {
    const patterns = all.map((i) => pattern(oracle, i, channels, p[i]!, rngs[i]!));
    const verdicts = await oracle.decide(all, patterns.map((c) => c.input));
    for (const i of all) {
      const better = verdicts[i]! && patterns[i]!.pixels.length < bestCount[i]!;
      if (better) {
        best[i] = { ...patterns[i]!, p: p[i]! };
        bestCount[i] = patterns[i]!.pixels.length;
        low[i] = 0.5 * p[i]!;
        // A bit above p: the pixel count is not monotone in p.
        high[i] = Math.min(1.2 * p[i]!, 1);
        stepSize[i] = (high[i]! - low[i]!) / (steps - step);
      }
      if (better || p[i] === high[i]) p[i] = low[i]!;
      p[i] = Math.min(p[i]! + stepSize[i]!, high[i]!);
    }
  }
  return best;
}

function pattern(oracle: QueryOracle, i: number, channels: number, p: number, rng: Rng): { input: Float32Array; pixels: number[] } {
  const x = oracle.originals[i]!;
  const out = x.slice();
  const pixels: number[] = [];
  for (let q = 0; q < x.length / channels; q++) {
    const u = rng.next();
    const value = u >= 1 - p / 2 ? oracle.high : u < p / 2 ? oracle.low : null;
    if (value === null) continue;
    let changed = false;
    for (let c = 0; c < channels; c++) {
      const j = q * channels + c;
      if (out[j] !== value) changed = true;
      out[j] = value;
    }
    if (changed) pixels.push(q);
  }
  return { input: out, pixels };
}

/**
 * Puts changed pixels back to their clean values while the input stays adversarial: random
 * groups of half the changed pixels first, halved after repeated failures, then every remaining
 * pixel once in random order.
 */
async function repair(oracle: QueryOracle, channels: number, best: (Best | null)[], budget: number): Promise<void> {
  const rows = best.flatMap((b, i) => (b && b.pixels.length > 0 ? [i] : []));
  const rngs = new Map(rows.map((i) => [i, oracle.rng(i, 'salt-and-pepper-repair')]));
  const size = new Map(rows.map((i) => [i, Math.max(1, Math.floor(best[i]!.pixels.length / 2))]));
  const fails = new Map(rows.map((i) => [i, 0]));
  // Single-pixel pass: the pixels still to try, in random order.
  const queue = new Map<number, number[]>();
  let active = rows;
  for (let round = 0; round < budget && active.length > 0; round++) {
    const proposals = active.map((i) => {
      const b = best[i]!;
      const rng = rngs.get(i)!;
      let chosen: number[];
      if (size.get(i)! > 1) {
        chosen = shuffled(b.pixels, rng).slice(0, size.get(i)!);
      } else {
        if (!queue.has(i)) queue.set(i, shuffled(b.pixels, rng));
        chosen = [queue.get(i)!.pop()!];
      }
      const input = b.input.slice();
      const x = oracle.originals[i]!;
      for (const q of chosen) for (let c = 0; c < channels; c++) input[q * channels + c] = x[q * channels + c]!;
      return { input, chosen };
    });
    const verdicts = await oracle.decide(active, proposals.map((p) => p.input));
    active = active.filter((i, k) => {
      const b = best[i]!;
      const { input, chosen } = proposals[k]!;
      if (verdicts[k]) {
        const gone = new Set(chosen);
        best[i] = { input, pixels: b.pixels.filter((q) => !gone.has(q)), p: b.p };
        fails.set(i, 0);
        size.set(i, Math.max(1, Math.min(size.get(i)!, Math.floor(best[i]!.pixels.length / 2))));
      } else if (size.get(i)! > 1 && fails.set(i, fails.get(i)! + 1).get(i)! >= FAILS_PER_SIZE) {
        size.set(i, Math.floor(size.get(i)! / 2));
        fails.set(i, 0);
      }
      const left = best[i]!.pixels.length;
      return left > 1 && (size.get(i)! > 1 || !queue.has(i) || queue.get(i)!.length > 0) && oracle.remaining(i) > 0;
    });
  }
}

/** A random permutation of `items` (Fisher–Yates on a copy). */
function shuffled(items: readonly number[], rng: Rng): number[] {
  const out = items.slice();
  for (let k = out.length - 1; k > 0; k--) {
    const j = rng.int(k + 1);
    [out[k], out[j]] = [out[j]!, out[k]!];
  }
  return out;
}
