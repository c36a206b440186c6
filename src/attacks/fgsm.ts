/**
 * Fast gradient attacks (Goodfellow et al. 2015): one step of size ε along the steepest ascent
 * direction of the cross-entropy — FGSM for L∞, FGM for L2 and L1 — then clipped to the bounds.
 */
import * as tf from '@tensorflow/tfjs-core';
import { RobustestError, show } from '../errors.js';
import { NORM_SYMBOL, type Norm } from '../norms.js';
import { defineAttack } from './runner.js';
import { attackLoss } from './losses.js';
import { ascentDirection, clipToBounds } from './steps.js';
import type { Attack, CriterionSpec, TargetSpec } from './types.js';

export interface FgsmOptions {
  norm?: 'linf' | 'l2' | 'l1';
  target?: TargetSpec;
  criterion?: CriterionSpec;
}

export function fgsm(options: FgsmOptions = {}): Attack {
  const norm = checkNorm(options.norm ?? 'linf', ['linf', 'l2', 'l1'], 'fgsm');
  return defineAttack({
    name: norm === 'linf' ? 'FGSM' : 'FGM',
    norm,
    kind: 'fixed-epsilon',
    requiresGradients: true,
    options: { ...options, norm },
    describe: (o) => `${norm === 'linf' ? 'FGSM' : 'FGM'} (${NORM_SYMBOL[norm]}, 1 step${o.target !== undefined ? `, targeted: ${show(o.target)}` : ''})`,
    async perturb(ctx) {
      const { gradient, logits, loss } = await ctx.gradient(ctx.x, attackLoss('ce', ctx.labels, ctx.targets));
      const adversarial = tf.tidy(() => clipToBounds(tf.add(ctx.x, tf.mul(ascentDirection(gradient, norm), ctx.epsilon!)), ctx.bounds));
      tf.dispose([gradient, logits, loss]);
      return adversarial;
    },
  });
}

export function checkNorm<N extends Norm>(norm: unknown, allowed: readonly N[], attack: string): N {
  if (!allowed.includes(norm as N)) {
    throw new RobustestError('INVALID_OPTION', `${attack}(): unsupported norm.`, {
      expected: allowed.map((n) => `'${n}'`).join(' | '),
      received: show(norm),
    });
  }
  return norm as N;
}
