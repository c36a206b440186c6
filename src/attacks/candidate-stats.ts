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
      let [min, max, finite, distance] = [Infinity, -Infinity, true, 0];
      for (let i = r * size; i < (r + 1) * size; i++) {
        const v = c[i]!;
        if (!Number.isFinite(v)) finite = false;
        if (v < min) min = v;
        if (v > max) max = v;
        const d = Math.fround(v - x[i]!);
        if (norm === 'linf') distance = Math.max(distance, Math.abs(d));
        else if (norm === 'l2') distance += d * d;
        else if (norm === 'l1') distance += Math.abs(d);
        else if (d !== 0) distance++;
      }
      out.distance.push(norm === 'l2' ? Math.fround(Math.sqrt(distance)) : Math.fround(distance));
      out.min.push(min);
      out.max.push(max);
      out.finite.push(finite);
    }
    return out;
  } finally {
    giveBack(c, x);
  }
}
