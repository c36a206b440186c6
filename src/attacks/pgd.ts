/**
 * Projected gradient descent (Madry et al. 2018; Kurakin et al.'s BIM without the random start)
 * in L∞, L2 and L1 — L1 as sparse L1 descent (Tramèr & Boneh 2019), the L1 variant that works.
 * Per Foolbox 3, with three additions that only make it stronger: a sample stops as soon as it
 * is adversarial (no gradient is spent on it afterwards, and the adversarial found is kept),
 * random restarts attack only the samples still unbroken, and the margin and DLR losses.
 */
import * as tf from '@tensorflow/tfjs-core';
import { RobustestError, show } from '../errors.js';
import { NORM_SYMBOL } from '../norms.js';
import { defineAttack, pick } from './runner.js';
import { attackLoss, minimumClasses, type LossName } from './losses.js';
import { checkBoolean, checkChoice, checkCriterion, checkInteger, checkKnownOptions, checkNorm, checkNumber, checkTarget } from './options.js';
import { ascentDirection, clipToBounds, projectToBall, randomStart as randomBallPoint, sparseL1Direction } from './steps.js';
import { Found, iterate } from './iterative.js';
import { hostLinfStep, linfStep } from './linf-step.js';
import type { Attack, CriterionSpec, TargetSpec } from './types.js';
import { takeRows } from '../engine/tfjs/rows.js';

export type PgdNorm = 'linf' | 'l2' | 'l1';

export interface PgdOptions {
  /** Default 'linf'. */
  norm?: PgdNorm;
  /** Gradient steps per restart. Default 40 (L∞), 50 (L2), 10 (L1). */
  steps?: number;
  /** Step size as a fraction of ε. Default 2.5/steps (L∞, L2), 0.2 (L1). */
  relativeStepSize?: number;
  /** Step size in input units; replaces `relativeStepSize`. */
  absoluteStepSize?: number;
  /** Start from a uniform random point of the ε-ball. Default true (L∞, L2), false (L1). `false` is BIM. */
  randomStart?: boolean;
  /** Runs from fresh random starts, each only on the samples still unbroken. Default 1. */
  restarts?: number;
  /** Objective: cross-entropy, C&W margin, or DLR (Croce & Hein 2020). Default 'ce'. */
  loss?: LossName;
  /** L1 only: the gradient quantile above which coordinates move. Default 0.99. */
  quantile?: number;
  target?: TargetSpec;
  criterion?: CriterionSpec;
}

/**
 * Foolbox 3's defaults (LinfPGD, L2PGD, SparseL1DescentAttack) except the L∞ and L2 step size.
 * Foolbox's (ε/30 for 40 steps, ε/40 for 50) lets the iterate travel 1.33ε and 1.25ε in all,
 * but a random start can lie up to 2ε from the point FGSM reaches in one step, so PGD could end
 * weaker than FGSM (measured on an MNIST MLP). Madry et al.'s rule, 2.5ε/steps, reaches every
 * point of the ball from any start.
 */
export const PGD_DEFAULTS = {
  linf: { steps: 40, travel: 2.5, randomStart: true },
  l2: { steps: 50, travel: 2.5, randomStart: true },
  l1: { steps: 10, travel: 2, randomStart: false, quantile: 0.99 },
} as const;

const KNOWN = ['norm', 'steps', 'relativeStepSize', 'absoluteStepSize', 'randomStart', 'restarts', 'loss', 'quantile', 'target', 'criterion'];

export function pgd(options: PgdOptions = {}): Attack {
  checkKnownOptions(options, KNOWN, 'pgd');
  const norm = checkNorm(options.norm ?? 'linf', ['linf', 'l2', 'l1'] as const, 'pgd');
  const defaults = PGD_DEFAULTS[norm];
  const steps = checkInteger(options.steps ?? defaults.steps, 'steps', 'pgd', 1);
  if (options.relativeStepSize !== undefined && options.absoluteStepSize !== undefined) {
    throw new RobustestError('INVALID_OPTION', 'pgd(): give either `relativeStepSize` or `absoluteStepSize`, not both.', {
      expected: 'one step size',
      received: `relativeStepSize ${show(options.relativeStepSize)} and absoluteStepSize ${show(options.absoluteStepSize)}`,
    });
  }
  const absoluteStepSize = options.absoluteStepSize === undefined ? undefined : checkNumber(options.absoluteStepSize, 'absoluteStepSize', 'pgd', 0, Infinity, true);
  const relativeStepSize = checkNumber(options.relativeStepSize ?? defaults.travel / steps, 'relativeStepSize', 'pgd', 0, Infinity, true);
  const randomStart = checkBoolean(options.randomStart ?? defaults.randomStart, 'randomStart', 'pgd');
  const restarts = checkInteger(options.restarts ?? 1, 'restarts', 'pgd', 1);
  if (restarts > 1 && !randomStart) {
    throw new RobustestError('INVALID_OPTION', 'pgd(): restarts need `randomStart: true`; without it every restart repeats the first.', {
      expected: 'restarts: 1, or randomStart: true',
      received: `restarts ${restarts} with randomStart false`,
    });
  }
  const loss = checkChoice(options.loss ?? 'ce', ['ce', 'margin', 'dlr'] as const, 'loss', 'pgd');
  if (options.quantile !== undefined && norm !== 'l1') {
    throw new RobustestError('INVALID_OPTION', 'pgd(): `quantile` applies to the L1 attack only.', { expected: "norm: 'l1'", received: `norm '${norm}'` });
  }
  const quantile = norm === 'l1' ? checkNumber(options.quantile ?? PGD_DEFAULTS.l1.quantile, 'quantile', 'pgd', 0, 1) : undefined;
  const target = checkTarget(options.target, 'pgd');
  const criterion = checkCriterion(options.criterion, target, { targeted: true, topK: true }, 'pgd');

  const resolved = { norm, steps, relativeStepSize, absoluteStepSize, randomStart, restarts, loss, quantile, target, criterion };
  return defineAttack({
    name: 'PGD',
    norm,
    kind: 'fixed-epsilon',
    requiresGradients: true,
    options: resolved,
    describe: () =>
      [
        `PGD (${NORM_SYMBOL[norm]}${norm === 'l1' ? ' sparse descent' : ''}, ${steps} steps`,
        absoluteStepSize !== undefined ? `step ${absoluteStepSize}` : `step ${round(relativeStepSize)}·ε`,
        randomStart ? 'random start' : 'no random start (BIM)',
        restarts > 1 ? `${restarts} restarts` : null,
        `${loss} loss`,
        target !== undefined ? `targeted: ${show(target)}` : criterion?.kind === 'top-k' ? `top-${criterion.k}` : null,
      ]
        .filter(Boolean)
        .join(', ') + ')',
    async perturb(ctx) {
      checkLossFits(loss, ctx.numClasses, ctx.targets !== null, 'pgd');
      const epsilon = ctx.epsilon!;
      const size = absoluteStepSize ?? relativeStepSize * epsilon;
      const k = ctx.criterion.kind === 'top-k' ? ctx.criterion.k : 1;
      const found = new Found(ctx.x);
      for (let restart = 0; restart < restarts; restart++) {
        const rows = found.pending();
        if (rows.length === 0) break;
        const x0 = takeRows(ctx.x, rows);
        const start = randomStart ? randomBallPoint(ctx, x0, rows, epsilon, norm, `restart-${restart}`) : tf.clone(x0);
        x0.dispose();
        await iterate(ctx, found, {
          rows,
          start,
          steps,
          loss: (r) => attackLoss(loss, pick(ctx.labels, r), ctx.targets && pick(ctx.targets, r), { k }),
          linf: norm === 'linf' ? { size, epsilon, bounds: ctx.bounds } : undefined,
          step: (x, gradient, origin) => ({
            x: tf.tidy(() => {
              if (norm === 'linf' && hostLinfStep()) return linfStep(x, gradient, origin, size, epsilon, ctx.bounds);
              const direction = norm === 'l1' ? sparseL1Direction(gradient, x, ctx.bounds, quantile!) : ascentDirection(gradient, norm);
              return clipToBounds(projectToBall(tf.add(x, tf.mul(direction, size)), origin, epsilon, norm), ctx.bounds);
            }),
            state: {},
          }),
        });
      }
      return found.tensor;
    },
  });
}

export function checkLossFits(loss: LossName, classes: number, targeted: boolean, attack: string): void {
  const needed = minimumClasses(loss, targeted);
  if (classes < needed) {
    throw new RobustestError('INVALID_OPTION', `${attack}(): the ${targeted ? 'targeted ' : ''}${loss.toUpperCase()} loss needs at least ${needed} classes.`, {
      expected: `a model with ≥ ${needed} classes, or loss 'ce' / 'margin'`,
      received: `${classes} classes`,
    });
  }
}

function round(v: number): string {
  return String(Math.round(v * 1e4) / 1e4);
}
