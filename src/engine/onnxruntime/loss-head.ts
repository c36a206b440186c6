/**
 * The attack losses of src/attacks/losses.ts in ONNX, with their logit gradients in closed form.
 * Classes enter as one-hot rows fed with each run (`own`, `target`), so one session serves every
 * label set. Picks of sorted logits are one-hot masks built from TopK/ArgMax indices: the
 * gradient flows to the chosen logits only, as through the tfjs masks.
 */
import type { LossSpec } from '../loss-spec.js';
import type { OnnxWriter } from './proto.js';

/** A loss as the emitted model sees it: everything but the per-run classes. */
export interface LossKind {
  readonly name: LossSpec['name'];
  readonly targeted: boolean;
  readonly k: number;
  readonly cap: number | undefined;
}

export function lossKindOf(spec: LossSpec): LossKind {
  return { name: spec.name, targeted: spec.targets !== null, k: spec.k, cap: spec.cap };
}

export function lossKey(kind: LossKind): string {
  return `${kind.name}/${kind.targeted ? 'targeted' : 'untargeted'}/k${kind.k}/cap${kind.cap ?? '-'}`;
}

/** Emits the per-sample loss [N] and dΣloss/dlogits [N, C]. */
export function emitLossHead(w: OnnxWriter, kind: LossKind, z: string, classes: number, own: string, target: string | null): { loss: string; dLogits: string } {
  const axis1 = w.int64s([1]);
  const iota = w.int64s(Array.from({ length: classes }, (_, i) => i));
  const pick = (mask: string) => w.op('ReduceSum', [w.op('Mul', [z, mask]), axis1], { keepdims: { i: 1 } });
  const maskOf = (column: string) => w.op('Cast', [w.op('Equal', [iota, column])], { to: { i: 1 } });
  const topColumns = (values: string, k: number) => {
    const [, indices] = w.ops('TopK', [values, w.int64s([k])], { axis: { i: 1 } }, 2);
    return (j: number) => maskOf(w.op('Slice', [indices!, w.int64s([j]), w.int64s([j + 1]), axis1]));
  };
  // The k-th best class among those `mask` leaves out (tfjs: max or topk of z − 10⁹·mask).
  const kthOther = (mask: string, k: number) => {
    const masked = w.op('Sub', [z, w.op('Mul', [mask, w.scalar(1e9)])]);
    if (k === 1) return maskOf(w.op('ArgMax', [masked], { axis: { i: 1 }, keepdims: { i: 1 } }));
    return topColumns(masked, k)(k - 1);
  };
  const sub = (a: string, b: string) => w.op('Sub', [a, b]);
  const perSample = (column: string) => w.op('Squeeze', [column, axis1]);

  switch (kind.name) {
    case 'ce': {
      const lse = w.op('ReduceLogSumExp', [z], { axes: { ints: [1] }, keepdims: { i: 1 } });
      const softmax = w.op('Softmax', [z], { axis: { i: 1 } });
      if (target) return { loss: perSample(sub(pick(target), lse)), dLogits: sub(target, softmax) };
      return { loss: perSample(sub(lse, pick(own))), dLogits: sub(softmax, own) };
    }
    case 'margin': {
      let margin: string;
      let dMargin: string;
      if (target) {
        const other = kthOther(target, 1);
        [margin, dMargin] = [sub(pick(target), pick(other)), sub(target, other)];
      } else {
        const other = kthOther(own, kind.k);
        [margin, dMargin] = [sub(pick(other), pick(own)), sub(other, own)];
      }
      if (kind.cap === undefined) return { loss: perSample(margin), dLogits: dMargin };
      const cap = w.scalar(kind.cap);
      // As tf.minimum: the gradient passes where margin ≤ cap.
      const passes = w.op('Cast', [w.op('LessOrEqual', [margin, cap])], { to: { i: 1 } });
      return { loss: perSample(w.op('Min', [margin, cap])), dLogits: w.op('Mul', [dMargin, passes]) };
    }
    case 'dlr': {
      // loss = −margin / D; dloss = −dmargin / D + margin / D² · dD.
      const sorted = topColumns(z, target ? 4 : 3);
      const m1 = sorted(0);
      const m3 = sorted(2);
      let margin: string;
      let dMarginMask: string;
      let denominatorMask: string;
      if (target) {
        const m4 = sorted(3);
        [margin, dMarginMask] = [sub(pick(own), pick(target)), sub(own, target)];
        denominatorMask = sub(m1, w.op('Mul', [w.op('Add', [m3, m4]), w.scalar(0.5)]));
      } else {
        const other = kthOther(own, kind.k);
        [margin, dMarginMask] = [sub(pick(own), pick(other)), sub(own, other)];
        denominatorMask = sub(m1, m3);
      }
      const denominator = w.op('Add', [pick(denominatorMask), w.scalar(1e-12)]);
      const loss = w.op('Neg', [w.op('Div', [margin, denominator])]);
      const ratio = w.op('Div', [margin, w.op('Mul', [denominator, denominator])]);
      const dLogits = w.op('Add', [w.op('Neg', [w.op('Div', [dMarginMask, denominator])]), w.op('Mul', [ratio, denominatorMask])]);
      return { loss: perSample(loss), dLogits };
    }
  }
}
