/**
 * Fast gradient attacks (Goodfellow et al. 2015): one step of size ε along the steepest ascent
 * direction of the cross-entropy — FGSM for L∞, FGM for L2 and L1 — then clipped to the bounds.
 */
import * as tf from '@tensorflow/tfjs-core';
import { show } from '../errors.js';
import { NORM_SYMBOL } from '../norms.js';
import { defineAttack } from './runner.js';
import { attackLoss } from './losses.js';
import { checkCriterion, checkKnownOptions, checkNorm, checkTarget } from './options.js';
import { ascentDirection, clipToBounds } from './steps.js';
import type { Attack, CriterionSpec, TargetSpec } from './types.js';

export { checkNorm } from './options.js';

export interface FgsmOptions {
  /** Default 'linf'. */
  norm?: 'linf' | 'l2' | 'l1';
  target?: TargetSpec;
  criterion?: CriterionSpec;
}

export function fgsm(options: FgsmOptions = {}): Attack {
  checkKnownOptions(options, ['norm', 'target', 'criterion'], 'fgsm');
  const norm = checkNorm(options.norm ?? 'linf', ['linf', 'l2', 'l1'] as const, 'fgsm');
  const target = checkTarget(options.target, 'fgsm');
  const criterion = checkCriterion(options.criterion, target, { targeted: true, topK: true }, 'fgsm');
  const name = norm === 'linf' ? 'FGSM' : 'FGM';
  return defineAttack({
    name,
    norm,
    kind: 'fixed-epsilon',
    requiresGradients: true,
    options: { norm, target, criterion },
    describe: () => `${name} (${NORM_SYMBOL[norm]}, 1 step${target !== undefined ? `, targeted: ${show(target)}` : ''})`,
    async perturb(ctx) {
      const { gradient, logits, loss } = await ctx.gradient(ctx.x, attackLoss('ce', ctx.labels, ctx.targets));
      const adversarial = tf.tidy(() => clipToBounds(tf.add(ctx.x, tf.mul(ascentDirection(gradient, norm), ctx.epsilon!)), ctx.bounds));
      tf.dispose([gradient, logits, loss]);
      return adversarial;
    },
  });
}
