/** What makes an output adversarial, and how targets are chosen. */
import * as tf from '@tensorflow/tfjs-core';
import { RobustestError, show } from '../errors.js';
import type { Rng } from '../engine/random.js';
import type { CriterionSpec, TargetSpec } from './types.js';

export type Criterion = { kind: 'misclassification' } | { kind: 'targeted' } | { kind: 'top-k'; k: number };

export function resolveCriterion(spec: CriterionSpec | undefined, target: TargetSpec | undefined, numClasses: number): Criterion {
  if (target !== undefined) {
    if (spec !== undefined && spec !== 'misclassification' && typeof spec === 'object' && spec.kind !== 'targeted') {
      throw new RobustestError('INVALID_OPTION', 'A target was given together with a non-targeted criterion.', {
        expected: "either `target` or `criterion: { kind: 'top-k', k }`",
        received: `target and criterion ${show(spec.kind)}`,
      });
    }
    return { kind: 'targeted' };
  }
  if (spec === undefined || spec === 'misclassification') return { kind: 'misclassification' };
  if (spec.kind === 'targeted') {
    throw new RobustestError('INVALID_OPTION', 'A targeted criterion needs a `target` option.', {
      expected: "target: number | number[] | 'random' | 'least-likely'",
      received: 'no target',
    });
  }
  if (spec.kind === 'top-k') {
    if (!Number.isInteger(spec.k) || spec.k < 1 || spec.k >= numClasses) {
      throw new RobustestError('INVALID_OPTION', 'criterion top-k needs an integer k with 1 ≤ k < classes.', {
        expected: `an integer in [1, ${numClasses - 1}]`,
        received: show(spec.k),
      });
    }
    return { kind: 'top-k', k: spec.k };
  }
  if (spec.kind === 'misclassification') return { kind: 'misclassification' };
  throw new RobustestError('INVALID_OPTION', 'Unknown criterion.', {
    expected: "'misclassification' | { kind: 'targeted' } | { kind: 'top-k', k }",
    received: show((spec as { kind?: unknown }).kind ?? spec),
  });
}

/** One target class per sample; never the sample's own label. */
export function resolveTargets(
  spec: TargetSpec,
  labels: Int32Array,
  cleanLogits: Float32Array | number[],
  numClasses: number,
  rng: Rng,
  /** Sample identities keying the 'random' picks (default: positions), as for all per-sample randomness. */
  ids?: readonly number[],
): Int32Array {
  const n = labels.length;
  const out = new Int32Array(n);
  const checkClass = (t: unknown, where: string): number => {
    if (!Number.isInteger(t) || (t as number) < 0 || (t as number) >= numClasses) {
      throw new RobustestError('INVALID_OPTION', `${where} is not a class index.`, {
        expected: `an integer in [0, ${numClasses - 1}]`,
        received: show(t),
      });
    }
    return t as number;
  };
  if (typeof spec === 'number') out.fill(checkClass(spec, 'target'));
  else if (Array.isArray(spec)) {
    if (spec.length !== n) {
      throw new RobustestError('INVALID_OPTION', 'target lists one class per sample.', { expected: `${n} targets`, received: `${spec.length} targets` });
    }
    spec.forEach((t, i) => (out[i] = checkClass(t, `target[${i}]`)));
  } else if (spec === 'random') {
    for (let i = 0; i < n; i++) {
      const r = rng.split(ids?.[i] ?? i).int(numClasses - 1);
      out[i] = r >= labels[i]! ? r + 1 : r;
    }
  } else if (spec === 'least-likely') {
    for (let i = 0; i < n; i++) {
      let best = -1;
      for (let c = 0; c < numClasses; c++) {
        if (c !== labels[i] && (best < 0 || cleanLogits[i * numClasses + c]! < cleanLogits[i * numClasses + best]!)) best = c;
      }
      out[i] = best;
    }
  } else {
    throw new RobustestError('INVALID_OPTION', 'Unknown target.', {
      expected: "number | number[] | 'random' | 'least-likely'",
      received: show(spec),
    });
  }
  return out;
}

/** Per-sample verdict of the criterion on logits [N, C]. */
export function adversarialMask(logits: tf.Tensor2D, criterion: Criterion, labels: Int32Array, targets: Int32Array | null): boolean[] {
  return adversarialMaskOf(logits.dataSync() as Float32Array, logits.shape[1], criterion, labels, targets);
}

/** adversarialMask for logits already on the host: one row of `c` values per label. */
export function adversarialMaskOf(data: Float32Array, c: number, criterion: Criterion, labels: Int32Array, targets: Int32Array | null): boolean[] {
  const n = labels.length;
  const result: boolean[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const row = i * c;
    if (criterion.kind === 'targeted') {
      result[i] = argmaxRow(data, row, c) === targets![i];
    } else if (criterion.kind === 'top-k') {
      const own = data[row + labels[i]!]!;
      let above = 0;
      for (let j = 0; j < c; j++) if (j !== labels[i] && data[row + j]! >= own) above++;
      result[i] = above >= criterion.k;
    } else {
      result[i] = argmaxRow(data, row, c) !== labels[i];
    }
  }
  return result;
}

export function argmaxRow(data: ArrayLike<number>, offset: number, width: number): number {
  let best = 0;
  for (let j = 1; j < width; j++) if (data[offset + j]! > data[offset + best]!) best = j;
  return best;
}

/**
 * Per-row margin of the criterion on logits data [n, width]: how far the row is past the
 * decision that makes it adversarial (positive exactly where it is adversarial, up to ties).
 * Misclassification: best other − own; targeted: target − best other; top-k: k-th best other − own.
 */
export function criterionMargins(
  data: ArrayLike<number>,
  width: number,
  criterion: Criterion,
  labels: Int32Array,
  targets: Int32Array | null,
): Float64Array {
  const n = labels.length;
  const out = new Float64Array(n);
  const k = criterion.kind === 'top-k' ? criterion.k : 1;
  const others: number[] = [];
  for (let i = 0; i < n; i++) {
    const row = i * width;
    const own = criterion.kind === 'targeted' ? targets![i]! : labels[i]!;
    others.length = 0;
    for (let j = 0; j < width; j++) if (j !== own) others.push(data[row + j]!);
    others.sort((a, b) => b - a);
    const kth = others[k - 1]!;
    out[i] = criterion.kind === 'targeted' ? data[row + own]! - kth : kth - data[row + own]!;
  }
  return out;
}
