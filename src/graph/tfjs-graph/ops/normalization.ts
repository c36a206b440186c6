/** FusedBatchNorm (V1 to V3) at inference: the graph's batch norm over the channel axis. */
import type { Context } from '../context.js';
import type { Computed } from '../values.js';

function fusedBatchNorm(ctx: Context): Computed {
  ctx.attrs.requireChannelsLast();
  if (ctx.attrs.bool('is_training', false)) ctx.fail('a batch norm in training mode (it normalizes with batch statistics)');
  const x = ctx.computed(0);
  const channels = ctx.shape(x)[ctx.shape(x).length - 1];
  const param = (i: number, what: string) => {
    const v = ctx.known(i, what);
    if (v.size !== channels) ctx.fail(`a ${what} of shape [${v.shape.join(', ')}] for ${channels} channels`);
    return ctx.weight(v, [v.size]);
  };
  return ctx.add(
    { kind: 'batchNorm', gamma: param(1, 'scale'), beta: param(2, 'offset'), mean: param(3, 'mean'), variance: param(4, 'variance'), epsilon: ctx.attrs.float('epsilon', 0.0001) },
    [x],
  );
}

export const NORMALIZATION = {
  FusedBatchNorm: fusedBatchNorm,
  FusedBatchNormV2: fusedBatchNorm,
  FusedBatchNormV3: fusedBatchNorm,
};
