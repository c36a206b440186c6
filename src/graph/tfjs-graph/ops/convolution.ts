/** Conv2D and DepthwiseConv2dNative, plain or fused (NHWC only). */
import type { Padding, Weight } from '../../types.js';
import type { Context } from '../context.js';
import type { Computed } from '../values.js';
import { withFusedOps } from './fused.js';

/** A [1, h, w, 1] attribute (strides, dilations, ksize) as its spatial pair. */
export function spatial(ctx: Context, name: string, fallback: readonly number[] = [1, 1, 1, 1]): [number, number] {
  const v = ctx.attrs.ints(name, fallback);
  if (v.length !== 4 || v[0] !== 1 || v[3] !== 1) ctx.fail(`${name} [${v.join(', ')}] (only spatial ones are imported)`);
  return [v[1]!, v[2]!];
}

export function paddingOf(ctx: Context): Padding {
  const padding = ctx.attrs.string('padding', 'VALID');
  if (padding === 'SAME') return 'same';
  if (padding === 'VALID') return 'valid';
  if (padding === 'EXPLICIT') {
    const p = ctx.attrs.ints('explicit_paddings', []);
    if (p.length !== 8) ctx.fail(`explicit_paddings [${p.join(', ')}] (8 values expected)`);
    if (p[0] || p[1] || p[6] || p[7]) ctx.fail(`explicit_paddings [${p.join(', ')}] pad the batch or channel axis`);
    return [p[2]!, p[3]!, p[4]!, p[5]!];
  }
  return ctx.fail(`padding ${padding}`);
}

function convolution(kind: 'conv2d' | 'depthwiseConv2d') {
  return (ctx: Context): Computed => {
    ctx.attrs.requireChannelsLast();
    const x = ctx.computed(0);
    const filter = ctx.known(1, 'filter');
    if (filter.shape.length !== 4) ctx.fail(`a filter of shape [${filter.shape.join(', ')}]`);
    const strides = spatial(ctx, 'strides');
    const dilations = spatial(ctx, 'dilations');
    const padding = paddingOf(ctx);
    return withFusedOps(ctx, (bias: Weight | null) => ctx.add({ kind, filter: ctx.weight(filter), bias, strides, dilations, padding }, [x]));
  };
}

export const CONVOLUTION = {
  Conv2D: convolution('conv2d'),
  _FusedConv2D: convolution('conv2d'),
  DepthwiseConv2dNative: convolution('depthwiseConv2d'),
  DepthwiseConv2D: convolution('depthwiseConv2d'),
  FusedDepthwiseConv2dNative: convolution('depthwiseConv2d'),
};
