import * as tf from '@tensorflow/tfjs-core';
import type { Network } from '../engine/tfjs/types.js';

/**
 * A network whose outputs are probabilities, seen through their logarithm: log-probabilities are
 * logits up to a per-row constant, which no attack loss depends on. The loss is composed with the
 * log, so its gradient flows through it.
 */
export function onLogProbabilities(network: Network): Network {
  const log = (p: tf.Tensor2D): tf.Tensor2D => tf.log(tf.add(p, 1e-30)) as tf.Tensor2D;
  return {
    forward: (x) => tf.tidy(() => log(network.forward(x))),
    valueAndGradient: (x, loss) => {
      const result = network.valueAndGradient(x, (p) => tf.tidy(() => loss(log(p))));
      const logits = tf.tidy(() => log(result.logits));
      result.logits.dispose();
      return { ...result, logits };
    },
    gradientPath: network.gradientPath,
    peeledSoftmax: false,
    dispose: () => network.dispose(),
  };
}
