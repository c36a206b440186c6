/** The LayersModel behind what certify() is given, and its bound graph. */
import { RobustestError, show } from '../errors.js';
import { classifier, isClassifier, type Classifier, type ModelLike } from '../model/classifier.js';
import { lowerLayersModel } from './lowering.js';
import type { BoundGraph } from './graph.js';

/** A Classifier over a LayersModel keeps the model it wraps as `model`. */
function layersModelOf(model: unknown, clf: Classifier): unknown {
  if (!isClassifier(model)) return model;
  if (clf.kind === 'layers') return (model as unknown as { model: unknown }).model;
  throw new RobustestError('INVALID_MODEL', `Bounds are computed on tf.LayersModels; ${clf.name} is a ${clf.kind} model.`, {
    expected: 'a tf.LayersModel, or classifier(layersModel)',
    received: `a ${clf.kind} classifier`,
  });
}

export interface BoundModel {
  clf: Classifier;
  graph: BoundGraph;
}

export function boundModel(model: Classifier | ModelLike): BoundModel {
  const clf = classifier(model);
  if (clf.kind !== 'layers') {
    throw new RobustestError('INVALID_MODEL', `Bounds are computed on tf.LayersModels; ${clf.name} is a ${clf.kind} model.`, {
      expected: 'a tf.LayersModel, or classifier(layersModel)',
      received: show(model),
    });
  }
  return { clf, graph: lowerLayersModel(layersModelOf(model, clf)) };
}
