/** MatMul, _FusedMatMul and BatchMatMul with a constant right operand: dense nodes. */
import type { Weight } from '../../types.js';
import type { Context } from '../context.js';
import { transposeKnown } from '../fold.js';
import type { Computed } from '../values.js';
import { withFusedOps } from './fused.js';

function matmul(transposeA: string, transposeB: string) {
  return (ctx: Context): Computed => {
    const x = ctx.computed(0);
    if (ctx.attrs.bool(transposeA, false)) ctx.fail(`${transposeA} on the model's input (it would mix samples)`);
    let kernel = ctx.known(1, 'right operand');
    if (kernel.shape.length !== 2) ctx.fail(`a right operand of shape [${kernel.shape.join(', ')}] (a matrix expected)`);
    if (ctx.attrs.bool(transposeB, false)) kernel = transposeKnown(kernel, [1, 0]);
    const features = ctx.shape(x);
    if (features.length < 1) ctx.fail('a matmul of a scalar per sample');
    return withFusedOps(ctx, (bias: Weight | null) => ctx.add({ kind: 'dense', kernel: ctx.weight(kernel), bias }, [x]));
  };
}

export const MATMUL = {
  MatMul: matmul('transpose_a', 'transpose_b'),
  _FusedMatMul: matmul('transpose_a', 'transpose_b'),
  BatchMatMul: matmul('adj_x', 'adj_y'),
  BatchMatMulV2: matmul('adj_x', 'adj_y'),
};
