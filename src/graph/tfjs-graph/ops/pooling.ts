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

/** A max over both spatial axes of an image (global max pooling) is one max-pool window. */
function max(ctx: Context): Computed {
  const x = ctx.computed(0);
  const shape = ctx.shape(x);
  const axes = reducedAxes(ctx, x);
  if (shape.length !== 3 || axes.join() !== '0,1') ctx.fail(`a max over axes [${axes.map((a) => a + 1).join(', ')}] (only over both spatial axes of an image)`);
  const window: [number, number] = [shape[0]!, shape[1]!];
  const pooled = ctx.add({ kind: 'maxPool', size: window, strides: window, padding: 'valid' }, [x]);
  return ctx.attrs.bool('keep_dims', false) ? pooled : ctx.add({ kind: 'reshape', shape: [shape[2]!] }, [pooled]);
}

export const POOLING = {
  AvgPool: pool('avgPool'),
  MaxPool: pool('maxPool'),
  Mean: mean,
  Sum: sum,
  Max: max,
};
