/**
 * What the final check of an attack's candidates reads, per row, in one pass over host memory:
 * the distance to its input in the attack's norm, its smallest and largest value, and whether
 * every value is finite. As tensor ops it was a dozen passes with their temporaries for every
 * batch an attack returns.
 *
 * Distances are those of float32 differences, as the attack's steps form them; L1 and L2 sums
 * accumulate in float64 and are rounded once to float32.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { Norm } from '../norms.js';
import { borrow, giveBack } from '../engine/buffers.js';
import { readInto } from '../engine/tfjs/host-memory.js';
import { rowRange } from '../engine/row-range.js';

export interface CandidateStats {
  distance: number[];
  min: number[];
  max: number[];
  finite: boolean[];
}

export function candidateStats(candidate: tf.Tensor, inputs: tf.Tensor, norm: Norm): CandidateStats {
  const rows = candidate.shape[0]!;
  const size = candidate.size / Math.max(rows, 1);
  const [c, x] = [borrow(candidate.size), borrow(inputs.size)];
  try {
    readInto(candidate, c);
    readInto(inputs, x);
    const out: CandidateStats = { distance: [], min: [], max: [], finite: [] };
    for (let r = 0; r < rows; r++) {
      const [start, end] = [r * size, (r + 1) * size];
      const { min, max, nonFinite } = rowRange(c, start, end);
      out.distance.push(distance(c, x, start, end, norm));
      out.min.push(min);
      out.max.push(max);
      out.finite.push(nonFinite === null);
    }
    return out;
  } finally {
    giveBack(c, x);
  }
}

/** ‖c − x‖ over [start, end), one loop per norm so that none branches on it per value. */
function distance(c: Float32Array, x: Float32Array, start: number, end: number, norm: Norm): number {
  const f32 = Math.fround;
  let d = 0;
  switch (norm) {
    case 'linf':
      for (let i = start; i < end; i++) d = Math.max(d, Math.abs(f32(c[i]! - x[i]!)));
      return d;
    case 'l2':
      for (let i = start; i < end; i++) {
        const v = f32(c[i]! - x[i]!);
        d += v * v;
      }
      return f32(Math.sqrt(d));
    case 'l1':
      for (let i = start; i < end; i++) d += Math.abs(f32(c[i]! - x[i]!));
      return f32(d);
    case 'l0':
      for (let i = start; i < end; i++) if (c[i] !== x[i]) d++;
      return d;
  }
}
