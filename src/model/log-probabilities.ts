/**
 * Networks whose outputs are probabilities, seen through their logarithm: log-probabilities are
 * logits up to a per-row constant, which no attack loss depends on. The loss is composed with the
 * log, so its gradient flows through it.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { OrtNetwork } from '../engine/onnxruntime/index.js';
import type { GradientResult, LossFn, Network } from '../engine/tfjs/types.js';

const log = (p: tf.Tensor2D): tf.Tensor2D => tf.tidy(() => tf.log(tf.add(p, 1e-30)) as tf.Tensor2D);

const onLog =
  (loss: LossFn): LossFn =>
  (p) =>
    tf.tidy(() => loss(log(p)));

function withLogLogits(result: GradientResult): GradientResult {
  const logits = log(result.logits);
  result.logits.dispose();
  return { ...result, logits };
}

export function onLogProbabilities(network: Network): Network {
  return {
    forward: (x) => tf.tidy(() => log(network.forward(x))),
    valueAndGradient: (x, loss) => withLogLogits(network.valueAndGradient(x, onLog(loss))),
    gradientPath: network.gradientPath,
    peeledSoftmax: false,
    dispose: () => network.dispose(),
  };
}

/** The same view of an onnxruntime network. */
export function onLogProbabilitiesNative(network: OrtNetwork): OrtNetwork {
  return {
    engine: network.engine,
    threads: network.threads,
    forward: async (x) => {
      const p = await network.forward(x);
      const z = log(p);
      p.dispose();
      return z;
    },
    valueAndGradient: async (x, loss) => withLogLogits(await network.valueAndGradient(x, onLog(loss))),
    // Its loss would read the probabilities rather than their log: these steps go through valueAndGradient.
    hostGradient: () => null,
    gradientPath: network.gradientPath,
    peeledSoftmax: false,
    dispose: () => network.dispose(),
  };
}
