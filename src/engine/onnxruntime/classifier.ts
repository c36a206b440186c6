/**
 * A classifier whose logits and input gradients come from the onnxruntime executor, everything
 * else (name, bounds, shapes, graph) from the classifier it was made from. Attacks, evaluate and
 * the matchers take it like any classifier; its gradientPath names the engine.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { Classifier } from '../../model/classifier.js';
import type { GradientResult, LossFn } from '../tfjs/types.js';
import type { OrtNetwork } from './network.js';

export function onnxruntimeClassifier(clf: Classifier, network: OrtNetwork): Classifier {
  return {
    [Symbol.for('robustest.classifier')]: true,
    kind: clf.kind,
    name: clf.name,
    bounds: clf.bounds,
    outputs: clf.outputs,
    inputShape: clf.inputShape,
    get numClasses() {
      return clf.numClasses;
    },
    differentiable: true,
    gradientPath: network.gradientPath,
    logits: (x: tf.Tensor) => network.forward(x),
    valueAndGradient: (x: tf.Tensor, loss: LossFn): Promise<GradientResult> => network.valueAndGradient(x, loss),
    hostGradient: async (loss: LossFn) => network.hostGradient(loss),
    graph: () => clf.graph?.() ?? null,
  } as unknown as Classifier;
}
