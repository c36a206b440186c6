/** The model graph behind what certify() is given, lowered to a BoundGraph. */
import { RobustestError, show } from '../errors.js';
import { importLayersModel } from '../graph/tfjs-layers/import.js';
import { UnsupportedNode, type ModelGraph, type Weight } from '../graph/types.js';
import { classifier, type Classifier, type ModelLike } from '../model/classifier.js';
import type { BoundGraph } from './graph.js';
import { lowerGraph, unsupportedNode } from './lowering.js';
import { BoundPropagation } from './propagation.js';

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
  /** Bound propagation over the classifier's graph (lowered once per model and weight values). */
  prop: BoundPropagation;
}

/** The weights a graph reads: every Weight among its nodes' op fields. */
function weightsOf(graph: ModelGraph): Weight[] {
  const found: Weight[] = [];
  for (const node of graph.nodes) {
    for (const value of Object.values(node.op as unknown as Record<string, unknown>)) {
      const w = value as Weight | null;
      if (w && typeof w === 'object' && typeof w.tensor === 'function' && Array.isArray(w.shape)) found.push(w);
    }
  }
  return found;
}

/**
 * What identifies the weights' current values: tfjs gives a tensor a new dataId whenever a
 * variable is assigned (training), so equal ids mean equal values.
 */
function weightIds(graph: ModelGraph): unknown[] {
  return weightsOf(graph).map((w) => (w.tensor() as unknown as { dataId: unknown }).dataId);
}

/** Models lowered before, keyed by what certify() was given, with the weight values they were read from. */
const lowered = new WeakMap<object, { ids: unknown[]; prop: BoundPropagation }>();

/**
 * The classifier of a model and bound propagation over the classifier's own graph (which it keeps
 * owning). A model certified again with the same weight values reuses its lowering, float64 weights
 * and what bound propagation found once per network (row norms, Gram matrices).
 */
export function boundModel(model: Classifier | ModelLike): BoundModel {
  const clf = classifier(model);
  const graph = clf.graph?.() ?? null;
  if (graph) {
    const ids = weightIds(graph);
    const known = typeof model === 'object' || typeof model === 'function' ? lowered.get(model) : undefined;
    if (known && known.ids.length === ids.length && known.ids.every((id, k) => id === ids[k])) return { clf, prop: known.prop };
    const prop = new BoundPropagation(lowerModelGraph(graph));
    lowered.set(model, { ids, prop });
    return { clf, prop };
  }
  const hint = clf.kind === 'onnx' ? ' Give the model file too: onnxClassifier(session, { model: bytes }).' : '';
  throw new RobustestError('INVALID_MODEL', `Bounds are computed on a model graph; ${clf.name} (a ${clf.kind} model) has none.${hint}`, {
    expected: 'a tf.LayersModel, a converted GraphModel or an ONNX model whose graph robustest reads (not a plain function)',
    received: show(model),
  });
}
