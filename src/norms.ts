import * as tf from '@tensorflow/tfjs-core';

export type Norm = 'linf' | 'l2' | 'l1' | 'l0';
export const NORMS: readonly Norm[] = ['linf', 'l2', 'l1', 'l0'];

export const NORM_SYMBOL: Record<Norm, string> = { linf: 'L∞', l2: 'L2', l1: 'L1', l0: 'L0' };

/** Per-sample size of `delta` ([N, ...]) in `norm`, as a [N] tensor. */
export function normOf(delta: tf.Tensor, norm: Norm): tf.Tensor1D {
  return tf.tidy(() => {
    const flat = tf.reshape(delta, [delta.shape[0], -1]);
    switch (norm) {
      case 'linf':
        return tf.max(tf.abs(flat), 1);
      case 'l2':
        return tf.sqrt(tf.sum(tf.square(flat), 1));
      case 'l1':
        return tf.sum(tf.abs(flat), 1);
      case 'l0':
        return tf.sum(tf.cast(tf.notEqual(flat, 0), 'float32'), 1);
    }
  }) as tf.Tensor1D;
}

/** Per-sample sizes of x − y in several norms, as plain numbers. */
export async function perturbationSizes(x: tf.Tensor, y: tf.Tensor): Promise<{ linf: number[]; l2: number[]; l0: number[] }> {
  const stacked = tf.tidy(() => {
    const d = tf.sub(y, x);
    return tf.stack([normOf(d, 'linf'), normOf(d, 'l2'), normOf(d, 'l0')]);
  });
  const [linf, l2, l0] = (await stacked.array()) as number[][];
  stacked.dispose();
  return { linf: linf!, l2: l2!, l0: l0! };
}
