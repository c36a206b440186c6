/**
 * Momentum iterative FGSM (Dong et al. 2018): iterative FGSM whose steps follow an accumulated
 * gradient g ← μ·g + ∇/‖∇‖₁, which stabilises the direction and escapes poor local maxima.
 * Steps of ε/steps from the clean input, so the last step can reach the ball's surface.
 * As in the other iterative attacks, a sample stops once it is adversarial.
 */
import * as tf from '@tensorflow/tfjs-core';
import { show } from '../errors.js';
import { NORM_SYMBOL } from '../norms.js';
import { defineAttack, pick } from './runner.js';
import { attackLoss, type LossName } from './losses.js';
import { checkChoice, checkCriterion, checkInteger, checkKnownOptions, checkNorm, checkNumber, checkTarget } from './options.js';
import { ascentDirection, clipToBounds, projectToBall } from './steps.js';
import { Found, iterate } from './iterative.js';
import { checkLossFits } from './pgd.js';
import type { Attack, CriterionSpec, TargetSpec } from './types.js';
import { takeRows } from '../engine/tfjs/rows.js';

export interface MifgsmOptions {
  /** Default 'linf'; 'l2' steps along the L2-normalised momentum. */
  norm?: 'linf' | 'l2';
  /** Default 10. */
  steps?: number;
  /** Momentum decay μ. Default 1.0. */
  decay?: number;
  /** Default 'ce'. */
  loss?: LossName;
  target?: TargetSpec;
  criterion?: CriterionSpec;
}

/** Dong et al. 2018: μ = 1.0, 10 iterations of ε/10. */
export const MIFGSM_DEFAULTS = { norm: 'linf', steps: 10, decay: 1.0, loss: 'ce' } as const;

export function mifgsm(options: MifgsmOptions = {}): Attack {
  checkKnownOptions(options, ['norm', 'steps', 'decay', 'loss', 'target', 'criterion'], 'mifgsm');
  const norm = checkNorm(options.norm ?? MIFGSM_DEFAULTS.norm, ['linf', 'l2'] as const, 'mifgsm');
  const steps = checkInteger(options.steps ?? MIFGSM_DEFAULTS.steps, 'steps', 'mifgsm', 1);
  const decay = checkNumber(options.decay ?? MIFGSM_DEFAULTS.decay, 'decay', 'mifgsm', 0);
  const loss = checkChoice(options.loss ?? MIFGSM_DEFAULTS.loss, ['ce', 'margin', 'dlr'] as const, 'loss', 'mifgsm');
  const target = checkTarget(options.target, 'mifgsm');
  const criterion = checkCriterion(options.criterion, target, { targeted: true, topK: true }, 'mifgsm');
  return defineAttack({
    name: 'MI-FGSM',
    norm,
    kind: 'fixed-epsilon',
    requiresGradients: true,
    options: { norm, steps, decay, loss, target, criterion },
    describe: () =>
      `MI-FGSM (${NORM_SYMBOL[norm]}, ${steps} steps of ε/${steps}, decay ${decay}, ${loss} loss${target !== undefined ? `, targeted: ${show(target)}` : ''})`,
    async perturb(ctx) {
      checkLossFits(loss, ctx.numClasses, ctx.targets !== null, 'mifgsm');
      const epsilon = ctx.epsilon!;
      const size = epsilon / steps;
      const k = ctx.criterion.kind === 'top-k' ? ctx.criterion.k : 1;
      const found = new Found(ctx.x);
      const rows = found.pending();
      const start = takeRows(ctx.x, rows);
      await iterate(ctx, found, {
        rows,
        start,
        steps,
        state: { momentum: tf.zerosLike(start) },
        loss: (r) => attackLoss(loss, pick(ctx.labels, r), ctx.targets && pick(ctx.targets, r), { k }),
        step: (x, gradient, origin, state) =>
          tf.tidy(() => {
            const momentum = tf.add(tf.mul(state.momentum!, decay), ascentDirection(gradient, 'l1'));
            const next = clipToBounds(projectToBall(tf.add(x, tf.mul(ascentDirection(momentum, norm), size)), origin, epsilon, norm), ctx.bounds);
            return { x: next, state: { momentum } };
          }),
      });
      return found.tensor;
    },
  });
}
