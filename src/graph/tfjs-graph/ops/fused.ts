/**
 * The `fused_ops` of TensorFlow's fused kernels (_FusedConv2D, FusedDepthwiseConv2dNative,
 * _FusedMatMul): a bias or an inference batch norm, an optional residual Add, then an
 * activation, with their operands in `num_args` inputs after the two of the linear op.
 */
import type { Weight } from '../../types.js';
import type { Context } from '../context.js';
import { isKnown, type Computed } from '../values.js';
import { activate } from './activations.js';

/**
 * Builds the linear op (given the bias it may absorb) and the fused ops after it. Without
 * `fused_ops` this is the plain op.
 */
export function withFusedOps(ctx: Context, linear: (bias: Weight | null) => Computed): Computed {
  const ops = ctx.attrs.strings('fused_ops');
  const count = ctx.attrs.int('num_args', 0);
  const args = ctx.inputs.slice(2, 2 + count);
  if (args.length !== count) ctx.fail(`num_args is ${count} but it has ${args.length} extra inputs`);
  let next = 0;
  const arg = (what: string) => {
    const a = args[next++];
    if (!a) ctx.fail(`fused ${what} without its input (num_args ${count})`);
    return a;
  };
  let start = 0;
  let x: Computed;
  const first = ops[0];
  if (first === 'BiasAdd') {
    const bias = arg('BiasAdd');
    if (isKnown(bias) && bias.shape.length === 1) {
      x = linear(ctx.weight(bias));
    } else {
      const y = linear(null);
      x = ctx.add({ kind: 'binary', fn: 'add' }, [y, ctx.operand(bias, y)]);
    }
    start = 1;
  } else if (first === 'FusedBatchNorm') {
    const [scale, offset, mean, variance] = [0, 1, 2, 3].map(() => arg('FusedBatchNorm'));
    const known = (v: typeof scale, what: string) => (isKnown(v!) ? ctx.weight(v) : ctx.fail(`fused batch norm with a computed ${what}`));
    x = ctx.add(
      { kind: 'batchNorm', gamma: known(scale, 'scale'), beta: known(offset, 'offset'), mean: known(mean, 'mean'), variance: known(variance, 'variance'), epsilon: ctx.attrs.float('epsilon', 0.0001) },
      [linear(null)],
    );
    start = 1;
  } else {
    x = linear(null);
  }
  for (const op of ops.slice(start)) {
    if (op === 'Add' || op === 'AddV2') {
      x = ctx.add({ kind: 'binary', fn: 'add' }, [x, ctx.operand(arg('Add'), x)]);
      continue;
    }
    const y = op === 'Prelu' ? activate(ctx, x, op, arg('Prelu')) : activate(ctx, x, op, ctx.attrs.float('leakyrelu_alpha', 0.2));
    if (!y) ctx.fail(`fused op ${op}`);
    x = y;
  }
  if (next !== count) ctx.fail(`fused ops [${ops.join(', ')}] use ${next} of its ${count} extra inputs`);
  return x;
}
