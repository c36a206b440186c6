/**
 * Boundary attack (Brendel, Rauber & Bethge 2018): a decision-based random walk along the
 * decision boundary. From an adversarial start (blended uniform noise) each step draws
 * `candidates` proposals per sample: an orthogonal step on the sphere around the original
 * (relative size `sphericalStep`), then a step of relative size `sourceStep` towards it. The
 * closest adversarial proposal is taken. Both step sizes adapt to their success rates over
 * recent trials as in the paper and Foolbox (orthogonal: > 50% grow, < 20% shrink, both steps;
 * towards the original: > 25% grow, < 10% shrink), and a sample stops once its step towards
 * the original falls below `convergence`. Reported norm: L2.
 */
import { NORM_SYMBOL } from '../norms.js';
import type { Rng } from '../engine/random.js';
import { defineAttack } from './runner.js';
import { checkCriterion, checkInteger, checkKnownOptions, checkNumber, checkTarget } from './options.js';
import { describeTarget, l2, QueryOracle } from './query/oracle.js';
import { blendedNoiseStart, START_DEFAULTS } from './query/starting-points.js';
import type { Attack, CriterionSpec, TargetSpec } from './types.js';

export interface BoundaryOptions {
  /** Steps of the walk. Default 1000. */
  steps?: number;
  /** Proposals per sample and step (each costs two queries: orthogonal and full step). Default 10. */
  candidates?: number;
  /** Model queries per sample, starting point included. Default 25,000. */
  queries?: number;
  /** Initial orthogonal step, relative to the current distance. Default 0.01. */
  sphericalStep?: number;
  /** Initial step towards the original, relative to the current distance. Default 0.01. */
  sourceStep?: number;
  /** Factor by which step sizes grow or shrink. Default 1.5. */
  stepAdaptation?: number;
  /** A sample stops when its source step falls below this. Default 1e-7. */
  convergence?: number;
  target?: TargetSpec;
  criterion?: CriterionSpec;
}

export const BOUNDARY_DEFAULTS = {
  steps: 1000,
  candidates: 10,
  queries: 25_000,
  sphericalStep: 0.01,
  sourceStep: 0.01,
  stepAdaptation: 1.5,
  convergence: 1e-7,
} as const;

/** Trials remembered for the success rates (the paper's 100 orthogonal and 30 source-step trials). */
const SPHERICAL_WINDOW = 100;
const STEP_WINDOW = 30;

export function boundary(options: BoundaryOptions = {}): Attack {
  const where = 'boundary';
  checkKnownOptions(options, ['steps', 'candidates', 'queries', 'sphericalStep', 'sourceStep', 'stepAdaptation', 'convergence', 'target', 'criterion'], where);
  const d = BOUNDARY_DEFAULTS;
  const settings = {
    steps: checkInteger(options.steps ?? d.steps, 'steps', where, 0),
    candidates: checkInteger(options.candidates ?? d.candidates, 'candidates', where, 1),
    queries: checkInteger(options.queries ?? d.queries, 'queries', where, 1),
    sphericalStep: checkNumber(options.sphericalStep ?? d.sphericalStep, 'sphericalStep', where, 0, Infinity, true),
    sourceStep: checkNumber(options.sourceStep ?? d.sourceStep, 'sourceStep', where, 0, 1, true),
    stepAdaptation: checkNumber(options.stepAdaptation ?? d.stepAdaptation, 'stepAdaptation', where, 1, Infinity, true),
    convergence: checkNumber(options.convergence ?? d.convergence, 'convergence', where, 0),
  };
  const target = checkTarget(options.target, where);
  const criterion = checkCriterion(options.criterion, target, { targeted: true, topK: true }, where);
  return defineAttack({
    name: 'Boundary',
    norm: 'l2',
    kind: 'minimization',
    requiresGradients: false,
    options: { ...settings, target, criterion },
    describe: (o) => `Boundary (${NORM_SYMBOL.l2}, ${settings.steps} steps × ${settings.candidates} proposals, ${settings.queries} queries${describeTarget(o.target)})`,
    async perturb(ctx) {
      const oracle = await QueryOracle.create(ctx, settings.queries);
      return oracle.toTensor(await walk(oracle, settings, ctx.targets !== null));
    },
  });
}

type Settings = Omit<Required<BoundaryOptions>, 'target' | 'criterion'>;

/** Success counts over a sliding window of trials. */
class Window {
  private readonly trials: boolean[] = [];
  constructor(private readonly size: number) {}
  push(outcome: boolean): void {
    this.trials.push(outcome);
    if (this.trials.length > this.size) this.trials.shift();
  }
  get full(): boolean {
    return this.trials.length >= this.size;
  }
  get rate(): number {
    return this.trials.filter(Boolean).length / this.trials.length;
  }
  clear(): void {
    this.trials.length = 0;
  }
}

interface Walker {
  best: Float32Array;
  distance: number;
  spherical: number;
  source: number;
  sphericalTrials: Window;
  stepTrials: Window;
  rng: Rng;
}

async function walk(oracle: QueryOracle, s: Settings, targeted: boolean): Promise<Float32Array[]> {
  const all = [...Array(oracle.count).keys()];
  const starts = await blendedNoiseStart(oracle, all, { ...START_DEFAULTS, tryOtherSamples: targeted });
  const walkers = new Map<number, Walker>();
  for (const i of all) {
    const start = starts[i];
    if (!start) continue;
    walkers.set(i, {
      best: start,
      distance: l2(start, oracle.originals[i]!),
      spherical: s.sphericalStep,
      source: s.sourceStep,
      sphericalTrials: new Window(SPHERICAL_WINDOW),
      stepTrials: new Window(STEP_WINDOW),
      rng: oracle.rng(i, 'boundary'),
    });
  }
  const eps = oracle.epsilon;
  let active = [...walkers.keys()];
  for (let step = 0; step < s.steps; step++) {
    active = active.filter((i) => {
      const w = walkers.get(i)!;
      return oracle.remaining(i) >= 2 && w.source >= s.convergence && !(eps !== undefined && w.distance <= eps) && w.distance > 0;
    });
    if (active.length === 0) break;
    const asked: number[] = [];
    const candidates: Float32Array[] = [];
    const owner: number[] = [];
    for (const i of active) {
      const w = walkers.get(i)!;
      const count = Math.min(s.candidates, Math.floor(oracle.remaining(i) / 2));
      for (let k = 0; k < count; k++) {
        const [spherical, full] = propose(oracle, i, w);
        asked.push(i, i);
        candidates.push(spherical, full);
        owner.push(i);
      }
    }
    const verdicts = await oracle.decide(asked, candidates);
    const closest = new Map<number, [number, Float32Array]>();
    owner.forEach((i, k) => {
      const w = walkers.get(i)!;
      const sphericalAdversarial = verdicts[2 * k]!;
      const fullAdversarial = verdicts[2 * k + 1]!;
      w.sphericalTrials.push(sphericalAdversarial);
      if (sphericalAdversarial) w.stepTrials.push(fullAdversarial);
      if (!fullAdversarial) return;
      const candidate = candidates[2 * k + 1]!;
      const d = l2(candidate, oracle.originals[i]!);
      if (d < w.distance && (!closest.has(i) || d < closest.get(i)![0])) closest.set(i, [d, candidate]);
    });
    for (const [i, [d, candidate]] of closest) {
      const w = walkers.get(i)!;
      w.best = candidate;
      w.distance = d;
    }
    for (const i of active) adapt(walkers.get(i)!, s.stepAdaptation);
  }
  return all.map((i) => walkers.get(i)?.best ?? oracle.originals[i]!);
}

/**
 * One proposal: η ⊥ (x − x_adv) with ‖η‖ = spherical·d, the spherical candidate
 * x + (x_adv − x + η)/√(1 + spherical²) (same distance d), then a step of source·d towards x.
 */
function propose(oracle: QueryOracle, i: number, w: Walker): [Float32Array, Float32Array] {
  const x = oracle.originals[i]!;
  const size = x.length;
  const toSource = new Float64Array(size);
  for (let j = 0; j < size; j++) toSource[j] = x[j]! - w.best[j]!;
  const d = w.distance;
  const eta = new Float64Array(size);
  let dot = 0;
  for (let j = 0; j < size; j++) {
    eta[j] = w.rng.normal();
    dot += eta[j]! * toSource[j]!;
  }
  let n2 = 0;
  for (let j = 0; j < size; j++) {
    eta[j] = eta[j]! - (dot / (d * d)) * toSource[j]!;
    n2 += eta[j]! * eta[j]!;
  }
  const scale = (w.spherical * d) / (Math.sqrt(n2) || 1);
  const shrink = 1 / Math.sqrt(1 + w.spherical * w.spherical);
  const spherical = new Float32Array(size);
  for (let j = 0; j < size; j++) spherical[j] = x[j]! + (eta[j]! * scale - toSource[j]!) * shrink;
  oracle.clip(spherical);

  // Foolbox's step towards the original: shorten the spherical candidate's distance by source·d.
  let sphericalDistance2 = 0;
  for (let j = 0; j < size; j++) sphericalDistance2 += (x[j]! - spherical[j]!) ** 2;
  const sphericalDistance = Math.sqrt(sphericalDistance2);
  const length = Math.max(0, w.source * d + sphericalDistance - d) / (sphericalDistance || 1);
  const full = new Float32Array(size);
  for (let j = 0; j < size; j++) full[j] = spherical[j]! + length * (x[j]! - spherical[j]!);
  return [spherical, oracle.clip(full)];
}

function adapt(w: Walker, factor: number): void {
  if (w.sphericalTrials.full) {
    const rate = w.sphericalTrials.rate;
    if (rate > 0.5) {
      w.spherical *= factor;
      w.source *= factor;
    } else if (rate < 0.2) {
      w.spherical /= factor;
      w.source /= factor;
    }
    if (rate > 0.5 || rate < 0.2) w.sphericalTrials.clear();
  }
  if (w.stepTrials.full) {
    const rate = w.stepTrials.rate;
    if (rate > 0.25) w.source *= factor;
    else if (rate < 0.1) w.source /= factor;
    if (rate > 0.25 || rate < 0.1) w.stepTrials.clear();
  }
}
