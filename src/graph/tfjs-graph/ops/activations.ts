/**
 * Activations on computed values, as TensorFlow names them: standalone ops (Relu, LeakyRelu,
 * Prelu, …) and the activation part of fused convolutions and matmuls. The graph's activation
 * kinds cover most of them; the rest are exact compositions of graph nodes.
 */
import type { Activation } from '../../types.js';
import type { Context } from '../context.js';
import { SELU_ALPHA, SELU_SCALE, UNARY } from '../elementwise.js';
import { Known, type Computed, type Value } from '../values.js';

function node(ctx: Context, x: Computed, activation: Activation): Computed {
  return ctx.add({ kind: 'activation', activation }, [x]);
}

/** alpha·x for x < 0, x otherwise, for any alpha (per channel when alpha is a vector). */
export function prelu(ctx: Context, x: Computed, alpha: Value): Computed {
  // relu(x) − alpha·relu(−x): exact, and differentiable wherever TensorFlow's is.
  const positive = node(ctx, x, { fn: 'relu' });
  const negative = node(ctx, node(ctx, x, { fn: 'neg' }), { fn: 'relu' });
  const scaled = ctx.add({ kind: 'binary', fn: 'mul' }, [negative, ctx.operand(alpha, x)]);
  return ctx.add({ kind: 'binary', fn: 'sub' }, [positive, scaled]);
}

export function leakyRelu(ctx: Context, x: Computed, alpha: number): Computed {
  // max(x, alpha·x) is LeakyRelu only while 0 ≤ alpha ≤ 1.
  if (alpha >= 0 && alpha <= 1) return node(ctx, x, { fn: 'leakyRelu', alpha });
  return prelu(ctx, x, Known.scalar(alpha));
}

/**
 * The activation TensorFlow calls `name` applied to x; `alpha` is the Prelu slope input or the
 * LeakyRelu coefficient. Null when the name is not an activation this importer knows.
 */
export function activate(ctx: Context, x: Computed, name: string, alpha?: Value | number): Computed | null {
  switch (name) {
    case 'LeakyRelu':
      return leakyRelu(ctx, x, typeof alpha === 'number' ? alpha : 0.2);
    case 'Prelu':
      if (alpha === undefined || typeof alpha === 'number') return ctx.fail('Prelu without its alpha input');
      return prelu(ctx, x, alpha);
    case 'Selu': {
      const elu = node(ctx, x, { fn: 'elu', alpha: SELU_ALPHA });
      return ctx.add({ kind: 'binary', fn: 'mul' }, [elu, ctx.operand(Known.scalar(SELU_SCALE), x)]);
    }
    case 'Rsqrt':
      return node(ctx, node(ctx, x, { fn: 'sqrt' }), { fn: 'reciprocal' });
    case 'Square':
      return ctx.add({ kind: 'binary', fn: 'mul' }, [x, x]);
    default: {
      const activation = UNARY[name]?.activation;
      return activation ? node(ctx, x, activation) : null;
    }
  }
}
