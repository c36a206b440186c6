/**
 * AutoAttack's members as robustest attacks, with the reference's budgets: APGD on cross-entropy
 * and DLR, APGD-T (targeted DLR towards the classes ranked 2 … 10 by the clean logits, each on
 * the samples still robust, success meaning any misclassification), FAB and FAB-T, and Square.
 * For randomized models ('rand'), APGD sees the model through an expectation over
 * transformation: each gradient is the mean of several draws.
 */
import * as tf from '@tensorflow/tfjs-core';
import { NORM_SYMBOL } from '../norms.js';
import { apgd, firstPassWins, runLanes, type ApgdLane, type ApgdRun } from './apgd.js';
import { fab } from './fab.js';
import { square } from './square.js';
import { Found } from './iterative.js';
import { defineAttack } from './runner.js';
import { checkLossFits } from './pgd.js';
import type { Classifier } from '../model/classifier.js';
import type { GradientResult, LossFn } from '../engine/tfjs/types.js';
import type { Attack } from './types.js';

export type MemberName = 'apgd-ce' | 'apgd-dlr' | 'apgd-t' | 'fab' | 'fab-t' | 'square';
export const MEMBER_NAMES: readonly MemberName[] = ['apgd-ce', 'apgd-dlr', 'apgd-t', 'fab', 'fab-t', 'square'];

export interface MemberBudget {
  norm: 'linf' | 'l2';
  /** APGD and FAB iterations (100 in the reference). */
  steps: number;
  /** Square's queries (5000). */
  queries: number;
  /** Restarts of APGD-CE, APGD-DLR and FAB (1 in 'standard', 5 in 'plus'). */
  restarts: number;
  /** Target classes of APGD-T and FAB-T (9). */
  targetClasses: number;
}

export function memberAttack(name: MemberName, b: MemberBudget): Attack {
  switch (name) {
    case 'apgd-ce':
      return apgd({ norm: b.norm, loss: 'ce', steps: b.steps, restarts: b.restarts });
    case 'apgd-dlr':
      return apgd({ norm: b.norm, loss: 'dlr', steps: b.steps, restarts: b.restarts });
    case 'apgd-t':
      return apgdTargeted(b.norm, b.steps, b.targetClasses);
    case 'fab':
      return fab({ norm: b.norm, steps: b.steps, restarts: b.restarts });
    case 'fab-t':
      return fab({ norm: b.norm, steps: b.steps, targeted: true, targetClasses: b.targetClasses });
    case 'square':
      return square({ norm: b.norm, queries: b.queries, p_init: 0.8 });
  }
}

/** Which members a model with `classes` classes can run: DLR needs 3, targeted DLR 4. */
export function memberFits(name: MemberName, classes: number): boolean {
  if (name === 'apgd-dlr') return classes >= 3;
  if (name === 'apgd-t') return classes >= 4;
  return true;
}

/**
 * APGD-T as in the reference: one run per ranked target class, each on the samples the ones
 * before it left correctly classified. The runs of all targets step together, one model call
 * per step; per sample the lowest target that succeeds decides, as in sequence.
 */
function apgdTargeted(norm: 'linf' | 'l2', steps: number, targetClasses: number): Attack {
  const run: ApgdRun = { norm, loss: 'dlr', steps, rho: 0.75, momentum: 0.75 };
  return defineAttack({
    name: 'APGD-T',
    norm,
    kind: 'fixed-epsilon',
    requiresGradients: true,
    options: { norm, steps, targetClasses },
    describe: () => `APGD-T (${NORM_SYMBOL[norm]}, targeted DLR loss, ${targetClasses} target classes, ${steps} steps)`,
    rowsPerSample: () => targetClasses,
    async perturb(ctx) {
      checkLossFits('dlr', ctx.numClasses, true, 'APGD-T');
      const logits = await ctx.logits(ctx.x);
      const z = (await logits.data()) as Float32Array;
      logits.dispose();
      const k = ctx.numClasses;
      const ranking = Array.from({ length: ctx.x.shape[0] }, (_, i) => {
        const row = z.subarray(i * k, (i + 1) * k);
        return Int32Array.from({ length: k }, (_, j) => j).sort((a, b) => row[b]! - row[a]! || a - b);
      });
      const found = new Found(ctx.x);
      // The loss pushes towards the ranked class; the criterion stays misclassification.
      const lanes: ApgdLane[] = [];
      for (let rank = 2; rank <= Math.min(targetClasses + 1, k); rank++) {
        for (const row of found.pending()) lanes.push({ row, pass: rank, target: ranking[row]![rank - 1]!, stream: `restart-target-${rank}` });
      }
      await runLanes(ctx, lanes, run, firstPassWins(found, lanes));
      return found.tensor;
    },
  });
}

/**
 * The classifier seen through an expectation over transformation: logits from one call, the
 * gradient averaged over `draws` calls (AutoAttack's eot_iter), so a randomized defence's noise
 * averages out of the ascent direction.
 */
export function expectationOverTransformation(clf: Classifier, draws: number): Classifier {
  return {
    [Symbol.for('robustest.classifier')]: true,
    kind: clf.kind,
    name: clf.name,
    bounds: clf.bounds,
    outputs: clf.outputs,
    inputShape: clf.inputShape,
    get numClasses() {
      return clf.numClasses;
    },
    differentiable: clf.differentiable,
    gradientPath: `${clf.gradientPath}, mean of ${draws} draws`,
    logits: (x: tf.Tensor) => clf.logits(x),
    async valueAndGradient(x: tf.Tensor, loss: LossFn): Promise<GradientResult> {
      const first = await clf.valueAndGradient(x, loss);
      let sum = first.gradient;
      for (let draw = 1; draw < draws; draw++) {
        const more = await clf.valueAndGradient(x, loss);
        const next = tf.add(sum, more.gradient);
        tf.dispose([sum, more.logits, more.loss, more.gradient]);
        sum = next;
      }
      const gradient = tf.div(sum, draws);
      sum.dispose();
      return { logits: first.logits, loss: first.loss, gradient };
    },
  } as unknown as Classifier;
}
