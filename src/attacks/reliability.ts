/**
 * AutoAttack's reliability checks (`checks.py` of the reference): signs that an attack-based
 * verdict may be too optimistic. Outputs that look like probabilities (gradients through a
 * saturated softmax vanish), samples whose loss gradient is zero, a model whose outputs change
 * between identical calls (a randomized defence needs expectation over transformation), a
 * black-box member breaking samples the gradient members could not (gradient masking), and too
 * few classes for the targeted members. A flag never changes a verdict: it says why the verdict
 * may be an overestimate.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Classifier } from '../model/classifier.js';
import { attackLoss } from './losses.js';

export type ReliabilityKind = 'probability-outputs' | 'zero-gradients' | 'randomized' | 'black-box-stronger' | 'too-few-classes';

export interface ReliabilityFlag {
  kind: ReliabilityKind;
  /** One sentence: what was seen and why it matters. */
  message: string;
  /** Samples concerned, where the check counts them. */
  samples?: number;
  /** The ε of the run that raised it, for flags that depend on it. */
  epsilon?: number;
}

/** Calls of the model on the same inputs that must agree (the reference uses 5). */
const RANDOMIZED_CALLS = 5;
/** Largest L2 distance between unit-normalised outputs of identical calls (the reference's α). */
const RANDOMIZED_TOLERANCE = 1e-4;
/** Largest fraction of samples a black-box member may break beyond the gradient members (the reference's 0.2 points). */
const BLACK_BOX_TOLERANCE = 0.002;
/** Samples the output checks look at (the reference's batch). */
export const CHECKED_SAMPLES = 250;

/**
 * Outputs and randomness, on the first samples: the classifier's logits are log-probabilities
 * when the model outputs probabilities, so every row then has logsumexp 0.
 */
export async function checkOutputs(clf: Classifier, x: tf.Tensor, options: { randomized: boolean }): Promise<ReliabilityFlag[]> {
  const flags: ReliabilityFlag[] = [];
  const first = await clf.logits(x);
  const lse = tf.logSumExp(first, 1);
  const rows = (await lse.data()) as Float32Array;
  lse.dispose();
  if (rows.length > 0 && rows.every((v) => Math.abs(v) < 1e-3)) {
    flags.push({
      kind: 'probability-outputs',
      message:
        'the model outputs probabilities: attacks run on their logarithm, whose gradients vanish where the softmax saturates; pass the logits (the model without its softmax) for a reliable verdict.',
    });
  }
  if (options.randomized) {
    let worst = 0;
    let flips = 0;
    const reference = tf.tidy(() => tf.div(first, tf.add(tf.norm(first, 'euclidean', 1, true), 1e-10)));
    const classes = tf.tidy(() => tf.argMax(first, 1));
    for (let call = 1; call < RANDOMIZED_CALLS; call++) {
      const again = await clf.logits(x);
      const [diff, changed] = tf.tidy(() => {
        const unit = tf.div(again, tf.add(tf.norm(again, 'euclidean', 1, true), 1e-10));
        return [tf.max(tf.norm(tf.sub(unit, reference), 'euclidean', 1)), tf.sum(tf.cast(tf.notEqual(tf.argMax(again, 1), classes), 'int32'))];
      });
      worst = Math.max(worst, (await diff!.data())[0]!);
      flips += (await changed!.data())[0]!;
      tf.dispose([again, diff!, changed!]);
    }
    tf.dispose([reference, classes]);
    if (worst > RANDOMIZED_TOLERANCE || flips > 0) {
      flags.push({
        kind: 'randomized',
        message: `the model's outputs change between identical calls (up to ${worst.toExponential(1)} apart${flips > 0 ? `, ${flips} predictions flipped` : ''}): it looks like a randomized defence; use autoAttack({ version: 'rand' }), which averages gradients over 20 draws.`,
      });
    }
  }
  first.dispose();
  return flags;
}

/** Samples whose cross-entropy gradient is exactly zero (or underflows to it) at the clean input. */
export async function checkZeroGradients(clf: Classifier, x: tf.Tensor, labels: Int32Array): Promise<ReliabilityFlag[]> {
  if (x.shape[0] === 0) return [];
  const result = await clf.valueAndGradient(x, attackLoss('ce', labels, null));
  const sizes = tf.tidy(() => tf.sum(tf.abs(tf.reshape(result.gradient, [x.shape[0], -1])), 1));
  const values = (await sizes.data()) as Float32Array;
  tf.dispose([result.logits, result.loss, result.gradient, sizes]);
  const zero = values.filter((v) => !(v > 1e-30)).length;
  if (zero === 0) return [];
  return [
    {
      kind: 'zero-gradients',
      samples: zero,
      message: `${zero} of ${values.length} samples have a zero loss gradient: gradient attacks cannot move them, so their robustness may be an artefact (gradient masking, or a non-differentiable step in the model).`,
    },
  ];
}

/** What the targeted members need: DLR needs 3 classes, targeted DLR 4, and n targets need n + 1 classes. */
export function checkClassCount(classes: number, members: readonly string[], targetClasses: number): ReliabilityFlag[] {
  const problems: string[] = [];
  const dlr = members.includes('apgd-dlr') || members.includes('apgd-t');
  if (dlr && classes <= 2) problems.push(`with ${classes} classes the DLR loss is undefined, so APGD-DLR and APGD-T were skipped`);
  else if (members.includes('apgd-t') && classes === 3) problems.push('with 3 classes the targeted DLR loss is undefined, so APGD-T was skipped');
  else if (members.includes('apgd-t') && targetClasses + 1 > classes) problems.push(`APGD-T could use only ${classes - 1} of its ${targetClasses} target classes`);
  if (members.includes('fab-t') && targetClasses + 1 > classes) problems.push(`FAB-T could use only ${classes - 1} of its ${targetClasses} target classes`);
  if (problems.length === 0) return [];
  return [{ kind: 'too-few-classes', message: `${problems.join('; ')}: the ensemble is weaker than AutoAttack on 10 classes.` }];
}

/** Samples a black-box member broke after every gradient member had failed on them. */
export function checkBlackBox(member: string, brokenAfterGradients: number, count: number, epsilon: number): ReliabilityFlag[] {
  if (count === 0 || brokenAfterGradients / count <= BLACK_BOX_TOLERANCE) return [];
  return [
    {
      kind: 'black-box-stronger',
      samples: brokenAfterGradients,
      epsilon,
      message: `${member}, which uses no gradients, broke ${brokenAfterGradients} of ${count} samples at ε = ${epsilon} that the gradient attacks could not: the gradients are likely masked, and stronger or adaptive attacks may break more.`,
    },
  ];
}

/** Flags of several runs (one per ε or chunk) as one list: one flag per kind, counts summed, the first message kept. */
export function mergeFlags(into: readonly ReliabilityFlag[], more: readonly ReliabilityFlag[] | undefined): ReliabilityFlag[] {
  const out = into.map((f) => ({ ...f }));
  for (const flag of more ?? []) {
    const same = out.find((f) => f.kind === flag.kind);
    if (!same) out.push({ ...flag });
    else if (flag.samples !== undefined && (flag.kind === 'black-box-stronger' || same.samples === undefined)) same.samples = (same.samples ?? 0) + flag.samples;
  }
  return out;
}

/** The flags of a run, if its attack reports any. */
export function flagsOf(run: object): readonly ReliabilityFlag[] | undefined {
  return (run as { reliability?: ReliabilityFlag[] }).reliability;
}

/** Lines for a matcher message or a report: one per flag. */
export function reliabilityLines(flags: readonly ReliabilityFlag[] | undefined): string[] {
  if (!flags || flags.length === 0) return [];
  return ['Reliability warnings (the verdict may be too optimistic):', ...flags.map((f) => `  ${f.kind}: ${f.message}`)];
}

/**
 * The note for a verdict that rests on one gradient attack: its robust accuracy is only an upper
 * bound, and AutoAttack is the standard for a verdict. Null for AutoAttack itself, for attacks
 * without gradients (whose report says what they are) and when nothing survived.
 */
export function singleAttackNote(attack: { name: string; requiresGradients: boolean }, robustAccuracy: number): string | null {
  if (!attack.requiresGradients || attack.name === 'AutoAttack' || robustAccuracy === 0) return null;
  return `Note: ${attack.name} alone gives an upper bound on robust accuracy (a single attack can miss adversarials that exist); autoAttack() is the standard for a verdict.`;
}
