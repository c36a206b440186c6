/** Pooling windows and reductions over sample axes (global average pooling is a Mean). */
import type { Context } from '../context.js';
import { Known, type Computed } from '../values.js';
import { paddingOf, spatial } from './convolution.js';

function pool(kind: 'maxPool' | 'avgPool') {
  return (ctx: Context): Computed => {
    ctx.attrs.requireChannelsLast();
    const x = ctx.computed(0);
    const size = spatial(ctx, 'ksize');
    const strides = spatial(ctx, 'strides');
    const padding = paddingOf(ctx);
    // TensorFlow's average pooling never counts padded positions.
    return kind === 'avgPool' ? ctx.add({ kind, size, strides, padding, countPadding: false }, [x]) : ctx.add({ kind, size, strides, padding }, [x]);
  };
}

/** The reduced per-sample axes; reducing over the batch would mix samples. */
function reducedAxes(ctx: Context, x: Computed): number[] {
  const axes = ctx.known(1, 'axis').list();
  return [...new Set(axes.map((a) => ctx.sampleAxis(a, x)))].sort((a, b) => a - b);
}

function mean(ctx: Context): Computed {
  const x = ctx.computed(0);
  return ctx.add({ kind: 'mean', axes: reducedAxes(ctx, x), keepDims: ctx.attrs.bool('keep_dims', false) }, [x]);
}

/** A sum is the mean times the number of values reduced. */
function sum(ctx: Context): Computed {
  const x = ctx.computed(0);
  const axes = reducedAxes(ctx, x);
  const count = axes.reduce((n, a) => n * ctx.shape(x)[a]!, 1);
  const m = ctx.add({ kind: 'mean', axes, keepDims: ctx.attrs.bool('keep_dims', false) }, [x]);
  return ctx.add({ kind: 'binary', fn: 'mul' }, [m, ctx.operand(Known.scalar(count), m)]);
}

export const POOLING = {
  AvgPool: pool('avgPool'),
  MaxPool: pool('maxPool'),
  Mean: mean,
  Sum: sum,
};
