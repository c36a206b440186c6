/**
 * The squeezers of feature squeezing (Xu, Evans and Qi, NDSS 2018): bit-depth reduction and the
 * median filter. Each has a forward pass and a BPDA backward pass (Athalye et al. 2018): the
 * identity, since both squeezers are close to the identity on natural images while their true
 * gradient is zero (rounding) or a sparse routing (median) that attacks cannot use.
 */
import * as tf from '@tensorflow/tfjs-core';
import { RobustestError, show } from '../../errors.js';

export interface Squeezer {
  /** 'bit depth 1', 'median 2×2', … */
  readonly name: string;
  readonly kind: 'bit-depth' | 'median';
  /** The parameter: bits, or the filter's side. */
  readonly size: number;
  /** The squeezed inputs, same shape; `bounds` is the valid input range. */
  apply(x: tf.Tensor, bounds: readonly [number, number]): tf.Tensor;
  /** BPDA: the squeezer applied forward, the identity backward. */
  bpda(x: tf.Tensor, bounds: readonly [number, number]): tf.Tensor;
}

function withIdentityGradient(forward: (x: tf.Tensor) => tf.Tensor): (x: tf.Tensor) => tf.Tensor {
  const op = tf.customGrad(((x: tf.Tensor) => ({ value: forward(x), gradFunc: (dy: tf.Tensor) => [dy] })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return (x) => op(x) as tf.Tensor;
}

/**
 * Reduces each value to `bits` bits over the input range: x ↦ round(x·(2^bits − 1)) / (2^bits − 1)
 * on [0, 1], as in Xu et al.; other ranges are mapped to [0, 1] and back.
 */
export function bitDepth(bits: number): Squeezer {
  if (!Number.isInteger(bits) || bits < 1 || bits > 8) {
    throw new RobustestError('INVALID_OPTION', 'bitDepth(): `bits` must be an integer from 1 to 8.', { expected: '1, 2, …, 8', received: show(bits) });
  }
  const levels = 2 ** bits - 1;
  const apply = (x: tf.Tensor, [low, high]: readonly [number, number]): tf.Tensor =>
    tf.tidy(() => {
      const unit = tf.clipByValue(tf.div(tf.sub(x, low), high - low), 0, 1);
      return tf.add(tf.mul(tf.div(tf.round(tf.mul(unit, levels)), levels), high - low), low);
    });
  return {
    name: `bit depth ${bits}`,
    kind: 'bit-depth',
    size: bits,
    apply,
    bpda: (x, bounds) => withIdentityGradient((v) => apply(v, bounds))(x),
  };
}

/**
 * Median filter over size×size windows of each channel of NHWC images. Borders follow
 * scipy.ndimage.median_filter's default ('reflect', the edge value repeated), which Xu et al.
 * used; an even size centres the window as scipy does (rows and columns −size/2 … size/2 − 1),
 * and the median of an even count is its upper middle value (scipy's rank size²/2).
 */
export function median(size: number): Squeezer {
  if (!Number.isInteger(size) || size < 2 || size > 5) {
    throw new RobustestError('INVALID_OPTION', 'median(): `size` must be an integer from 2 to 5 (Xu et al. use 2 and 3).', { expected: '2, 3, 4 or 5', received: show(size) });
  }
  const before = Math.floor(size / 2);
  const after = size - 1 - before;
  const count = size * size;
  const rank = Math.floor(count / 2);
  const apply = (x: tf.Tensor): tf.Tensor => {
    if (x.rank !== 4) {
      throw new RobustestError('INVALID_SHAPE', `median(${size}) filters images: it needs NHWC inputs.`, { expected: '[N, height, width, channels]', received: `[${x.shape.join(', ')}]` });
    }
    const [n, h, w, c] = x.shape as [number, number, number, number];
    if (h <= before || w <= before) {
      throw new RobustestError('INVALID_SHAPE', `median(${size}) needs images larger than its half window.`, { expected: `height and width > ${before}`, received: `${h}×${w}` });
    }
    return tf.tidy(() => {
      // 'symmetric' mirror padding repeats the edge value: scipy's 'reflect'.
      const padded = tf.mirrorPad(x as tf.Tensor4D, [[0, 0], [before, after], [before, after], [0, 0]], 'symmetric');
      const windows: tf.Tensor[] = [];
      for (let dr = 0; dr < size; dr++) for (let dc = 0; dc < size; dc++) windows.push(tf.slice(padded, [0, dr, dc, 0], [n, h, w, c]));
      // The value of rank `rank` (from the smallest) is the (count − rank)-th largest.
      const stacked = tf.stack(windows, 4);
      const largest = tf.topk(stacked, count - rank).values;
      return tf.squeeze(tf.slice(largest, [0, 0, 0, 0, count - rank - 1], [n, h, w, c, 1]), [4]);
    });
  };
  return {
    name: `median ${size}×${size}`,
    kind: 'median',
    size,
    apply,
    bpda: (x) => withIdentityGradient(apply)(x),
  };
}
