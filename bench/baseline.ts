/**
 * The plain baseline: L∞ PGD written directly on tfjs, the way one would without robustest —
 * tf.grad through model.predict, every sample for every step at every ε, and the final iterate
 * judged. Same settings as robustest's pgd(): 40 steps of 0.01/0.3·ε from a uniform random
 * start in the ε-ball, projected and clipped to [0, 1].
 */
import * as tf from '@tensorflow/tfjs';

export interface PlainCurve {
  robustAccuracy: number[];
  gradientEvaluations: number;
}

/** −log p(label) on the model's softmax output, per sample, summed. */
function loss(probabilities: tf.Tensor2D, oneHot: tf.Tensor2D): tf.Scalar {
  return tf.neg(tf.sum(tf.log(tf.add(tf.sum(tf.mul(probabilities, oneHot), 1), 1e-12)))) as tf.Scalar;
}

export function plainPgdCurve(
  model: tf.LayersModel,
  x: tf.Tensor,
  labels: Int32Array,
  epsilons: readonly number[],
  options: { steps: number; relativeStepSize: number; seed: number },
): PlainCurve {
  const n = x.shape[0];
  const oneHot = tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), 10), 'float32') as tf.Tensor2D;
  const correct = (input: tf.Tensor) =>
    tf.tidy(() => {
      const predicted = tf.argMax(model.predict(input) as tf.Tensor2D, 1).dataSync();
      return Array.from(labels, (label, i) => predicted[i] === label);
    });
  const clean = correct(x);
  const gradient = tf.grad((v: tf.Tensor) => loss(model.predict(v) as tf.Tensor2D, oneHot));
  const robustAccuracy = epsilons.map((epsilon, e) => {
    const step = options.relativeStepSize * epsilon;
    let adv = tf.tidy(() => tf.clipByValue(tf.add(x, tf.randomUniform(x.shape, -epsilon, epsilon, 'float32', options.seed + e)), 0, 1));
    for (let i = 0; i < options.steps; i++) {
      const next = tf.tidy(() => {
        const moved = tf.add(adv, tf.mul(tf.sign(gradient(adv)), step));
        return tf.clipByValue(tf.minimum(tf.maximum(moved, tf.sub(x, epsilon)), tf.add(x, epsilon)), 0, 1);
      });
      adv.dispose();
      adv = next;
    }
    const survived = correct(adv);
    adv.dispose();
    return survived.filter((ok, i) => ok && clean[i]).length / n;
  });
  oneHot.dispose();
  return { robustAccuracy, gradientEvaluations: epsilons.length * options.steps * n };
}

/** One plain gradient of the same loss, for per-step timing. */
export function plainGradient(model: tf.LayersModel, x: tf.Tensor, labels: Int32Array): tf.Tensor {
  return tf.tidy(() => {
    const oneHot = tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), 10), 'float32') as tf.Tensor2D;
    return tf.grad((v: tf.Tensor) => loss(model.predict(v) as tf.Tensor2D, oneHot))(x);
  });
}
