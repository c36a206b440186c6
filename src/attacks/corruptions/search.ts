/**
 * Corruptions as minimization attacks over one severity parameter, as Foolbox's linear-search
 * and binary-search attacks: severities on a uniform grid up to the maximum are tried in
 * increasing order (`steps` of them, several per model call), a sample stops at the first that
 * breaks it, and bisection between that severity and the last one that did not refines it.
 * Random parts of a corruption (its noise) are drawn once per sample, so severity moves the
 * input along one fixed path and the search is meaningful. The smallest breaking severity is
 * reported in `run.parameters[i].severity`; `run.distances` is the perturbation's size in the
 * corruption's norm.
 */
import { NORM_SYMBOL, type Norm } from '../../norms.js';
import type { Rng } from '../../engine/random.js';
import { defineAttack } from '../runner.js';
import { checkCriterion, checkInteger, checkKnownOptions, checkNumber, checkTarget } from '../options.js';
import { describeTarget, QueryOracle } from '../query/oracle.js';
import type { Attack, CriterionSpec, TargetSpec } from '../types.js';

export interface CorruptionOptions {
  /** Grid severities tried, evenly spaced in (0, maxSeverity]. Default 100. */
  steps?: number;
  /** Bisection steps after the first breaking grid severity. Default 10. */
  refinements?: number;
  /** Largest severity tried. Default: the corruption's own. */
  maxSeverity?: number;
  target?: TargetSpec;
  criterion?: CriterionSpec;
}

export const CORRUPTION_DEFAULTS = { steps: 100, refinements: 10 } as const;

/** Grid severities per sample in one model call. */
const GRID_PER_CALL = 10;

/** Geometry and random stream a corruption may use for one sample. */
export interface CorruptionInput {
  x: Float32Array;
  shape: readonly number[];
  bounds: readonly [number, number];
  rng: Rng;
}

export interface Corruption {
  /** Name for reports, e.g. 'GaussianNoise'. */
  name: string;
  /** How the severity reads in a description, e.g. 'σ'. */
  severity: string;
  norm: Norm;
  /** The largest severity that makes sense for these inputs. */
  maxSeverity(shape: readonly number[], bounds: readonly [number, number]): number;
  /** Checks the sample shape (e.g. image-only corruptions); throws a RobustestError. */
  checkShape?(shape: readonly number[]): void;
  /** Draws the random parts for one sample and returns severity ↦ corrupted input (inside bounds). */
  prepare(input: CorruptionInput): (severity: number) => Float32Array;
}

export function corruptionAttack(corruption: Corruption, factory: string, options: CorruptionOptions = {}): Attack {
  checkKnownOptions(options, ['steps', 'refinements', 'maxSeverity', 'target', 'criterion'], factory);
  const steps = checkInteger(options.steps ?? CORRUPTION_DEFAULTS.steps, 'steps', factory, 1);
  const refinements = checkInteger(options.refinements ?? CORRUPTION_DEFAULTS.refinements, 'refinements', factory, 0);
  const maxSeverity = options.maxSeverity === undefined ? undefined : checkNumber(options.maxSeverity, 'maxSeverity', factory, 0, Infinity, true);
  const target = checkTarget(options.target, factory);
  const criterion = checkCriterion(options.criterion, target, { targeted: true, topK: true }, factory);
  return defineAttack({
    name: corruption.name,
    norm: corruption.norm,
    kind: 'minimization',
    requiresGradients: false,
    reportsParameters: true,
    options: { steps, refinements, maxSeverity, target, criterion },
    describe: (o) =>
      `${corruption.name} (${NORM_SYMBOL[corruption.norm]}, ${corruption.severity} searched over ${steps} steps${o.maxSeverity !== undefined ? ` up to ${o.maxSeverity}` : ''} + ${refinements} bisections${describeTarget(o.target)})`,
    async perturb(ctx) {
      const shape = ctx.x.shape.slice(1);
      corruption.checkShape?.(shape);
      const oracle = await QueryOracle.create(ctx, steps + refinements);
      const top = maxSeverity ?? corruption.maxSeverity(shape, ctx.bounds);
      const paths = oracle.originals.map((x, i) => corruption.prepare({ x, shape, bounds: ctx.bounds, rng: oracle.rng(i, corruption.name) }));
      const found = await searchSeverity(oracle, paths, top, steps, refinements);
      return oracle.toTensor(
        found.map((f, i) => {
          if (!f) return oracle.originals[i]!;
          oracle.record(i, { severity: f.severity });
          return f.input;
        }),
      );
    },
  });
}

export interface Found {
  severity: number;
  input: Float32Array;
}

/** The smallest breaking severity per sample on the grid, refined by bisection. */
export async function searchSeverity(
  oracle: QueryOracle,
  paths: readonly ((severity: number) => Float32Array)[],
  top: number,
  steps: number,
  refinements: number,
): Promise<(Found | null)[]> {
  const found: (Found | null)[] = new Array(oracle.count).fill(null);
  const lastSafe = new Float64Array(oracle.count);
  const next = new Int32Array(oracle.count).fill(1);
  let active = [...Array(oracle.count).keys()];
  while (active.length > 0) {
    const asked: number[] = [];
    const grid: number[] = [];
    const inputs: Float32Array[] = [];
    for (const i of active) {
      for (let k = next[i]!; k < next[i]! + GRID_PER_CALL && k <= steps; k++) {
        const severity = (top * k) / steps;
        asked.push(i);
        grid.push(severity);
        inputs.push(paths[i]!(severity));
      }
      next[i] = Math.min(steps + 1, next[i]! + GRID_PER_CALL);
    }
    const verdicts = await oracle.decide(asked, inputs);
    asked.forEach((i, r) => {
      if (found[i]) return;
      if (verdicts[r]) found[i] = { severity: grid[r]!, input: inputs[r]! };
      else lastSafe[i] = grid[r]!;
    });
    active = active.filter((i) => !found[i] && next[i]! <= steps);
  }

  let refining = found.map((f, i) => (f ? i : -1)).filter((i) => i >= 0);
  for (let step = 0; step < refinements && refining.length > 0; step++) {
    const mids = refining.map((i) => (lastSafe[i]! + found[i]!.severity) / 2);
    const inputs = refining.map((i, k) => paths[i]!(mids[k]!));
    const verdicts = await oracle.decide(refining, inputs);
    refining.forEach((i, k) => {
      if (verdicts[k]) found[i] = { severity: mids[k]!, input: inputs[k]! };
      else lastSafe[i] = mids[k]!;
    });
    refining = refining.filter((i) => oracle.remaining(i) > 0);
  }
  return found;
}
