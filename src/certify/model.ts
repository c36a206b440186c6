/** The model graph behind what certify() is given, lowered to a BoundGraph. */
import { RobustestError, show } from '../errors.js';
import { importLayersModel } from '../graph/tfjs-layers/import.js';
import { UnsupportedNode, type ModelGraph } from '../graph/types.js';
import { classifier, type Classifier, type ModelLike } from '../model/classifier.js';
import type { BoundGraph } from './graph.js';
import { lowerGraph, unsupportedNode } from './lowering.js';

/** A ModelGraph passed as is. */
export function isModelGraph(value: unknown): value is ModelGraph {
  const g = value as ModelGraph;
  return typeof value === 'object' && value !== null && Array.isArray(g.nodes) && Array.isArray(g.shapes) && typeof g.dispose === 'function';
}

/** Lowers a graph, turning the graph layer's own refusal into the certificate's error. */
export function lowerModelGraph(graph: ModelGraph): BoundGraph {
  try {
    return lowerGraph(graph);
  } catch (error) {
    if (error instanceof UnsupportedNode) throw unsupportedNode(error.source, error.why);
    throw error;
  }
}

/** The BoundGraph of a LayersModel (imported, lowered, then the import's own tensors freed). */
export function lowerLayersModel(model: unknown): BoundGraph {
  let graph: ModelGraph | null;
  try {
    graph = importLayersModel(model);
  } catch (error) {
    if (error instanceof UnsupportedNode) throw unsupportedNode(error.source, error.why);
    throw error;
  }
  if (!graph) {
    throw new RobustestError('INVALID_MODEL', 'Bounds need a built tf.LayersModel with one input and one output, and known input shapes.', {
      expected: 'a tf.LayersModel (Sequential or functional) with one input and one output',
      received: show(model),
    });
  }
  try {
    return lowerModelGraph(graph);
  } finally {
    graph.dispose();
  }
}

export interface BoundModel {
  clf: Classifier;
  graph: BoundGraph;
}

/** The classifier of a model and the BoundGraph of the classifier's own graph (which it keeps owning). */
export function boundModel(model: Classifier | ModelLike): BoundModel {
  const clf = classifier(model);
  const graph = clf.graph?.() ?? null;
  if (graph) return { clf, graph: lowerModelGraph(graph) };
  const hint = clf.kind === 'onnx' ? ' Give the model file too: onnxClassifier(session, { model: bytes }).' : '';
  throw new RobustestError('INVALID_MODEL', `Bounds are computed on a model graph; ${clf.name} (a ${clf.kind} model) has none.${hint}`, {
    expected: 'a tf.LayersModel, a converted GraphModel or an ONNX model whose graph robustest reads (not a plain function)',
    received: show(model),
  });
}
