/**
 * One-pixel attack (Su, Vargas & Sakurai 2019): differential evolution over k pixel
 * modifications, each (row, column, one value per channel), with the paper's DE/rand/1 and
 * F = 0.5 and no crossover. A child replaces its parent when the model's probability of the
 * true class (untargeted) or 1 − p(target) (targeted) is no higher. Only scores are used.
 *
 * Reported norm: L0, the number of input values changed; with one channel that is the number
 * of pixels, with C channels at most k·C values over at most k pixels.
 */
import { NORM_SYMBOL } from '../norms.js';
import type { Rng } from '../engine/random.js';
import { defineAttack } from './runner.js';
import { checkCriterion, checkInteger, checkKnownOptions, checkTarget } from './options.js';
import { describeTarget, geometry, QueryOracle } from './query/oracle.js';
import type { Attack, CriterionSpec, TargetSpec } from './types.js';

export interface OnePixelOptions {
  /** Pixels the attack may change. Default 1. */
  pixels?: number;
  /** Candidates per generation. Default 400 (the paper's). */
  populationSize?: number;
  /** Generations after the initial population. Default 100. */
  maxIterations?: number;
  target?: TargetSpec;
  criterion?: CriterionSpec;
}

export const ONE_PIXEL_DEFAULTS = { pixels: 1, populationSize: 400, maxIterations: 100 } as const;

/** The paper's scale factor F of the difference vector. */
const F = 0.5;
/** Children evaluated per sample and model call, so a sample can stop within a generation. */
const CHILDREN_PER_CALL = 100;

export function onePixel(options: OnePixelOptions = {}): Attack {
  checkKnownOptions(options, ['pixels', 'populationSize', 'maxIterations', 'target', 'criterion'], 'onePixel');
  const pixels = checkInteger(options.pixels ?? ONE_PIXEL_DEFAULTS.pixels, 'pixels', 'onePixel', 1);
  const populationSize = checkInteger(options.populationSize ?? ONE_PIXEL_DEFAULTS.populationSize, 'populationSize', 'onePixel', 4);
  const maxIterations = checkInteger(options.maxIterations ?? ONE_PIXEL_DEFAULTS.maxIterations, 'maxIterations', 'onePixel', 0);
  const target = checkTarget(options.target, 'onePixel');
  const criterion = checkCriterion(options.criterion, target, { targeted: true, topK: true }, 'onePixel');
  return defineAttack({
    name: 'OnePixel',
    norm: 'l0',
    kind: 'minimization',
    requiresGradients: false,
    options: { pixels, populationSize, maxIterations, target, criterion },
    describe: (o) =>
      `One-pixel (${NORM_SYMBOL.l0}, ${pixels} pixel${pixels === 1 ? '' : 's'}, differential evolution: population ${populationSize}, ${maxIterations} generations${describeTarget(o.target)})`,
    async perturb(ctx) {
      const oracle = await QueryOracle.create(ctx, populationSize * (maxIterations + 1));
      return oracle.toTensor(await evolve(oracle, pixels, populationSize, maxIterations));
    },
  });
}

interface Population {
  members: Float64Array[];
  fitness: Float64Array;
  rng: Rng;
  found: Float32Array | null;
}

async function evolve(oracle: QueryOracle, pixels: number, size: number, generations: number): Promise<Float32Array[]> {
  const { height, width, channels } = geometry(oracle.sampleShape);
  const genes = pixels * (2 + channels);
  const mid = (oracle.low + oracle.high) / 2;
  const spread = (oracle.high - oracle.low) / 2;
  const extent = [height, width];

  const apply = (i: number, member: Float64Array): Float32Array => {
    const out = oracle.originals[i]!.slice();
    for (let p = 0; p < pixels; p++) {
      const g = p * (2 + channels);
      const row = Math.min(height - 1, Math.floor(member[g]!));
      const col = Math.min(width - 1, Math.floor(member[g + 1]!));
      for (let c = 0; c < channels; c++) out[(row * width + col) * channels + c] = member[g + 2 + c]!;
    }
    return out;
  };
  const clipValue = (v: number) => Math.min(oracle.high, Math.max(oracle.low, v));

  const all = [...Array(oracle.count).keys()];
  const pops: Population[] = all.map((i) => {
    const rng = oracle.rng(i, 'one-pixel');
    // Su et al.: coordinates uniform over the image, values N(middle, half range) clipped to bounds.
    const members = Array.from({ length: size }, () => {
      const m = new Float64Array(genes);
      for (let p = 0; p < pixels; p++) {
        const g = p * (2 + channels);
        m[g] = rng.uniform(0, height);
        m[g + 1] = rng.uniform(0, width);
        for (let c = 0; c < channels; c++) m[g + 2 + c] = clipValue(mid + spread * rng.normal());
      }
      return m;
    });
    return { members, fitness: new Float64Array(size).fill(Infinity), rng, found: null };
  });

  /** Scores members [from, to) of each listed sample's `batch`; returns the samples now broken. */
  const score = async (active: number[], batch: (i: number) => Float64Array[], from: number, to: number, accept: (i: number, k: number, f: number) => void) => {
    const rows: number[] = [];
    const candidates: Float32Array[] = [];
    const owners: [number, number][] = [];
    for (const i of active) {
      const list = batch(i);
      for (let k = from; k < Math.min(to, list.length); k++) {
        rows.push(i);
        candidates.push(apply(i, list[k]!));
        owners.push([i, k]);
      }
    }
    const answers = await oracle.ask(rows, candidates);
    const bestAdversarial = new Map<number, [number, Float32Array]>();
    owners.forEach(([i, k], r) => {
      const f = oracle.fitnessOf(answers.logits[r]!, i);
      accept(i, k, f);
      if (answers.adversarial[r]) {
        const prev = bestAdversarial.get(i);
        if (!prev || f < prev[0]) bestAdversarial.set(i, [f, candidates[r]!]);
      }
    });
    for (const [i, [, x]] of bestAdversarial) pops[i]!.found = x;
  };

  let active = all;
  for (let from = 0; from < size && active.length > 0; from += CHILDREN_PER_CALL) {
    await score(active, (i) => pops[i]!.members, from, from + CHILDREN_PER_CALL, (i, k, f) => (pops[i]!.fitness[k] = f));
    active = active.filter((i) => !pops[i]!.found);
  }

  for (let generation = 0; generation < generations && active.length > 0; generation++) {
    const children = new Map<number, Float64Array[]>();
    for (const i of active) children.set(i, breed(pops[i]!, extent, channels, pixels, clipValue));
    for (let from = 0; from < size && active.length > 0; from += CHILDREN_PER_CALL) {
      await score(active, (i) => children.get(i)!, from, from + CHILDREN_PER_CALL, (i, k, f) => {
        const pop = pops[i]!;
        if (f <= pop.fitness[k]!) {
          pop.members[k] = children.get(i)![k]!;
          pop.fitness[k] = f;
        }
      });
      active = active.filter((i) => !pops[i]!.found);
    }
  }
  return all.map((i) => pops[i]!.found ?? oracle.originals[i]!);
}

/** DE/rand/1: child k = a + F (b − c) for three distinct members other than k. */
function breed(pop: Population, extent: number[], channels: number, pixels: number, clipValue: (v: number) => number): Float64Array[] {
  const { members, rng } = pop;
  const n = members.length;
  return members.map((_, k) => {
    const [a, b, c] = distinct(rng, n, k);
    const child = new Float64Array(members[k]!.length);
    for (let g = 0; g < child.length; g++) child[g] = members[a]![g]! + F * (members[b]![g]! - members[c]![g]!);
    for (let p = 0; p < pixels; p++) {
      const g = p * (2 + channels);
      // A coordinate thrown off the image is redrawn uniformly, as in scipy's differential_evolution.
      for (let axis = 0; axis < 2; axis++) {
        if (!(child[g + axis]! >= 0 && child[g + axis]! < extent[axis]!)) child[g + axis] = rng.uniform(0, extent[axis]!);
      }
      for (let ch = 0; ch < channels; ch++) child[g + 2 + ch] = clipValue(child[g + 2 + ch]!);
    }
    return child;
  });
}

function distinct(rng: Rng, n: number, exclude: number): [number, number, number] {
  const picked: number[] = [];
  while (picked.length < 3) {
    const r = rng.int(n);
    if (r !== exclude && !picked.includes(r)) picked.push(r);
  }
  return picked as [number, number, number];
}
