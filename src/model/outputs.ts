import * as tf from '@tensorflow/tfjs-core';

/** True when every row is a probability vector (entries in [0, 1], sum 1 within 1e-3). */
export function looksLikeProbabilities(scores: tf.Tensor2D): boolean {
  const [minimum, maximum, worstSum] = tf.tidy(() => [
    tf.min(scores),
    tf.max(scores),
    tf.max(tf.abs(tf.sub(tf.sum(scores, 1), 1))),
  ]).map((t) => {
    const v = t.dataSync()[0]!;
    t.dispose();
    return v;
  }) as [number, number, number];
  return minimum >= 0 && maximum <= 1 && worstSum <= 1e-3;
}
