/**
 * Spatial attack (Engstrom et al. 2019, as Foolbox's SpatialAttack with grid search): every
 * combination of a rotation and a horizontal and vertical translation from the given grids,
 * applied with bilinear resampling (pixels uncovered by the moved image take the lower bound).
 * Transforms are tried from the smallest to the largest (by (θ/θmax)² + (dx² + dy²)/tmax²), so
 * a sample stops at the mildest transform that breaks it; that transform is reported in
 * `run.parameters[i]` as { rotation, dx, dy }. Reported norm: L2 of the resulting change.
 */
import { RobustestError, show } from '../errors.js';
import { NORM_SYMBOL } from '../norms.js';
import { defineAttack } from './runner.js';
import { checkCriterion, checkKnownOptions, checkTarget } from './options.js';
import { describeTarget, QueryOracle } from './query/oracle.js';
import { transformImage, type Transform } from './corruptions/affine.js';
import { imageShape } from './corruptions/image.js';
import type { Attack, CriterionSpec, TargetSpec } from './types.js';

export interface SpatialOptions {
  /** Rotations to try, in degrees. Default [−30, −15, 0, 15, 30] (Foolbox: ±30°, 5 values). */
  rotations?: readonly number[];
  /** Translations to try along each axis, in pixels. Default [−3, −1.5, 0, 1.5, 3] (Foolbox: ±3, 5 values). */
  translations?: readonly number[];
  target?: TargetSpec;
  criterion?: CriterionSpec;
}

export const SPATIAL_DEFAULTS = { rotations: [-30, -15, 0, 15, 30], translations: [-3, -1.5, 0, 1.5, 3] } as const;

/** Transforms per sample in one model call. */
const TRANSFORMS_PER_CALL = 25;

export function spatial(options: SpatialOptions = {}): Attack {
  checkKnownOptions(options, ['rotations', 'translations', 'target', 'criterion'], 'spatial');
  const rotations = checkGrid(options.rotations ?? SPATIAL_DEFAULTS.rotations, 'rotations');
  const translations = checkGrid(options.translations ?? SPATIAL_DEFAULTS.translations, 'translations');
  const target = checkTarget(options.target, 'spatial');
  const criterion = checkCriterion(options.criterion, target, { targeted: true, topK: true }, 'spatial');
  const grid = transformGrid(rotations, translations);
  return defineAttack({
    name: 'Spatial',
    norm: 'l2',
    kind: 'minimization',
    requiresGradients: false,
    reportsParameters: true,
    options: { rotations, translations, target, criterion },
    describe: (o) =>
      `Spatial (grid of ${grid.length} transforms: rotations ${show(rotations)}°, translations ${show(translations)} px; ${NORM_SYMBOL.l2} reported${describeTarget(o.target)})`,
    async perturb(ctx) {
      const image = imageShape(ctx.x.shape.slice(1), 'spatial()');
      const oracle = await QueryOracle.create(ctx, Math.max(1, grid.length));
      const chosen: (Float32Array | null)[] = new Array(oracle.count).fill(null);
      let active = [...Array(oracle.count).keys()];
      for (let start = 0; start < grid.length && active.length > 0; start += TRANSFORMS_PER_CALL) {
        const part = grid.slice(start, start + TRANSFORMS_PER_CALL);
        const asked: number[] = [];
        const inputs: Float32Array[] = [];
        const used: Transform[] = [];
        for (const i of active)
          for (const t of part) {
            asked.push(i);
            inputs.push(oracle.clip(transformImage(oracle.originals[i]!, image, t, oracle.low)));
            used.push(t);
          }
        const verdicts = await oracle.decide(asked, inputs);
        asked.forEach((i, r) => {
          if (chosen[i] || !verdicts[r]) return;
          chosen[i] = inputs[r]!;
          oracle.record(i, { ...used[r]! });
        });
        active = active.filter((i) => !chosen[i]);
      }
      return oracle.toTensor(chosen.map((c, i) => c ?? oracle.originals[i]!));
    },
  });
}

function checkGrid(values: unknown, name: string): readonly number[] {
  if (!Array.isArray(values) || values.length === 0 || !values.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw new RobustestError('INVALID_OPTION', `spatial(): \`${name}\` is a list of values to try.`, {
      expected: 'a non-empty array of finite numbers',
      received: show(values),
    });
  }
  return Object.freeze([...new Set(values as number[])]);
}

/** All combinations except the identity, mildest first. */
export function transformGrid(rotations: readonly number[], translations: readonly number[]): Transform[] {
  const maxRotation = Math.max(...rotations.map(Math.abs)) || 1;
  const maxTranslation = Math.max(...translations.map(Math.abs)) || 1;
  const size = (t: Transform) => (t.rotation / maxRotation) ** 2 + (t.dx ** 2 + t.dy ** 2) / maxTranslation ** 2;
  const grid: Transform[] = [];
  for (const rotation of rotations)
    for (const dx of translations)
      for (const dy of translations) if (rotation !== 0 || dx !== 0 || dy !== 0) grid.push({ rotation, dx, dy });
  return grid.sort((a, b) => size(a) - size(b));
}
