/**
 * TensorFlow's StridedSlice resolved against a shape: the masks (begin, end, ellipsis, new axis,
 * shrink axis) and negative or out-of-range indices turned into one plain range per input axis
 * and the output shape. Follows TensorFlow's ValidateStridedSliceOp. A NaN dimension (the batch)
 * can only be taken whole.
 */

export interface AxisRange {
  readonly begin: number;
  readonly stride: number;
  readonly size: number;
  /** The whole axis, in order (needed for the batch, whose length is unknown). */
  readonly whole: boolean;
}

export interface StridedSliceSpec {
  /** One range per input axis. */
  readonly ranges: readonly AxisRange[];
  /** The output shape: ranges' sizes with shrunk axes dropped and new axes (1) inserted. */
  readonly shape: readonly number[];
}

export interface StridedSliceMasks {
  readonly begin: number;
  readonly end: number;
  readonly ellipsis: number;
  readonly newAxis: number;
  readonly shrinkAxis: number;
}

const bit = (mask: number, i: number) => ((mask >> i) & 1) === 1;

/** Throws a plain Error with the reason; callers wrap it with the node's name. */
export function resolveStridedSlice(shape: readonly number[], begin: readonly number[], end: readonly number[], strides: readonly number[], masks: StridedSliceMasks): StridedSliceSpec {
  const n = begin.length;
  if (end.length !== n || strides.length !== n) throw new Error('begin, end and strides differ in length');
  const rank = shape.length;
  type Dense = { begin: number; end: number; stride: number; beginMasked: boolean; endMasked: boolean; shrink: boolean };
  const dense: Dense[] = [];
  // Output axes: an input axis index, or -1 for a new axis; shrunk axes are left out.
  const gather: number[] = [];
  const full = (): Dense => ({ begin: 0, end: 0, stride: 1, beginMasked: true, endMasked: true, shrink: false });
  let sawEllipsis = false;
  for (let i = 0; i < n; i++) {
    if (bit(masks.ellipsis, i) && !sawEllipsis) {
      sawEllipsis = true;
      let newAxesAfter = 0;
      for (let j = i + 1; j < n; j++) if (bit(masks.newAxis, j)) newAxesAfter++;
      const next = Math.min(rank - (n - i) + 1 + newAxesAfter, rank);
      while (dense.length < next) {
        gather.push(dense.length);
        dense.push(full());
      }
    } else if (bit(masks.newAxis, i)) {
      gather.push(-1);
    } else {
      if (dense.length >= rank) throw new Error(`more indices than the ${rank} axes of the input`);
      const shrink = bit(masks.shrinkAxis, i);
      if (!shrink) gather.push(dense.length);
      dense.push({ begin: begin[i]!, end: end[i]!, stride: strides[i]!, beginMasked: bit(masks.begin, i), endMasked: bit(masks.end, i), shrink });
    }
  }
  while (dense.length < rank) {
    gather.push(dense.length);
    dense.push(full());
  }
  const ranges = dense.map((d, axis) => resolveAxis(shape[axis]!, d, axis));
  const out = gather.map((axis) => (axis < 0 ? 1 : Number.isNaN(shape[axis]!) ? Number.NaN : ranges[axis]!.size));
  return { ranges, shape: out };
}

function resolveAxis(length: number, d: { begin: number; end: number; stride: number; beginMasked: boolean; endMasked: boolean; shrink: boolean }, axis: number): AxisRange {
  if (d.stride === 0) throw new Error(`stride 0 on axis ${axis}`);
  if (Number.isNaN(length)) {
    const fromStart = d.beginMasked || d.begin === 0;
    const toEnd = d.endMasked || d.end >= 2 ** 31 - 1;
    if (d.shrink || d.stride !== 1 || !fromStart || !toEnd) throw new Error('it slices the batch axis');
    return { begin: 0, stride: 1, size: Number.NaN, whole: true };
  }
  if (d.shrink) {
    const index = d.begin < 0 ? d.begin + length : d.begin;
    if (index < 0 || index >= length) throw new Error(`index ${d.begin} out of range for axis ${axis} of length ${length}`);
    return { begin: index, stride: 1, size: 1, whole: length === 1 };
  }
  const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
  const normalize = (v: number) => (v < 0 ? v + length : v);
  let b: number;
  let e: number;
  if (d.stride > 0) {
    b = d.beginMasked ? 0 : clamp(normalize(d.begin), 0, length);
    e = d.endMasked ? length : clamp(normalize(d.end), 0, length);
  } else {
    b = d.beginMasked ? length - 1 : clamp(normalize(d.begin), -1, length - 1);
    e = d.endMasked ? -1 : clamp(normalize(d.end), -1, length - 1);
  }
  const size = Math.max(0, Math.ceil((e - b) / d.stride));
  return { begin: b, stride: d.stride, size, whole: d.stride === 1 && b === 0 && size === length };
}
