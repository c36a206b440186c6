/**
 * Which executor runs a model graph: onnxruntime when onnxruntime-node is installed and can run
 * every node, except for tfjs models with max pooling, which stay on the tfjs engine. That
 * exception is measured (bench/onnxruntime.ts): on the bundled MNIST CNN the tfjs engine's fused
 * convolution and max-pool gradient kernel runs PGD in about half onnxruntime's time (onnxruntime
 * routes the gradient through MaxPool's argmax indices and a scatter), while on the bundled MLPs
 * onnxruntime takes 0.3–0.4× of the tfjs engine's time under PGD and on MobileNetV2 a fifth. ONNX models
 * always run on onnxruntime when it can: it is their own runtime. Inside Jest onnxruntime is
 * unavailable (runtime.ts says why), so everything runs on tfjs there. ROBUSTEST_ENGINE=tfjs|onnxruntime
 * overrides the choice; a requested onnxruntime that cannot run the graph is an error rather
 * than a silent fallback.
 */
import type { ModelGraph } from '../graph/types.js';
import { RobustestError } from '../errors.js';
import { tryOnnxruntimeNetwork, type OnnxruntimeOptions, type OrtNetwork } from './onnxruntime/index.js';
import { compileGraph } from './tfjs/compile.js';
import { notice } from './tfjs/notices.js';
import type { Network } from './tfjs/types.js';

export type EngineName = 'tfjs' | 'onnxruntime';

export type SelectedNetwork =
  | { readonly engine: 'onnxruntime'; readonly network: OrtNetwork }
  /** `reason`: why onnxruntime does not run it (null when tfjs was asked for). */
  | { readonly engine: 'tfjs'; readonly network: Network; readonly reason: string | null };

/** The engine ROBUSTEST_ENGINE asks for, or null to choose. */
export function requestedEngine(): EngineName | null {
  const value = process.env.ROBUSTEST_ENGINE?.trim();
  if (value === undefined || value === '' || value === 'auto') return null;
  if (value === 'tfjs' || value === 'onnxruntime') return value;
  throw new RobustestError('INVALID_OPTION', 'ROBUSTEST_ENGINE names an executor robustest does not have.', {
    expected: "'tfjs', 'onnxruntime' or unset (onnxruntime when installed, else tfjs)",
    received: JSON.stringify(value),
  });
}

type Choice = { readonly network: OrtNetwork; readonly reason: null } | { readonly network: null; readonly reason: string | null };

function hasMaxPool(graph: ModelGraph): boolean {
  return graph.nodes.some((n) => n.op.kind === 'maxPool');
}

async function choose(graph: ModelGraph, options: OnnxruntimeOptions): Promise<Choice> {
  const requested = requestedEngine();
  if (requested === 'tfjs' || (requested === null && graph.format !== 'onnx' && hasMaxPool(graph))) return { network: null, reason: null };
  const attempt = await tryOnnxruntimeNetwork(graph, options);
  if (attempt.network) return { network: attempt.network, reason: null };
  if (requested === 'onnxruntime') {
    throw new RobustestError('BACKEND_UNAVAILABLE', `ROBUSTEST_ENGINE=onnxruntime, but onnxruntime cannot run this model: ${attempt.reason}.`, {
      expected: 'onnxruntime-node installed (npm install -D onnxruntime-node) and a graph of supported nodes',
      received: attempt.reason,
    });
  }
  notice(`engine:${attempt.reason}`, `running on the tfjs engine: ${attempt.reason}.`);
  return { network: null, reason: attempt.reason };
}

export async function selectNetwork(graph: ModelGraph, options: OnnxruntimeOptions = {}): Promise<SelectedNetwork> {
  const choice = await choose(graph, options);
  if (choice.network) return { engine: 'onnxruntime', network: choice.network };
  return { engine: 'tfjs', network: compileGraph(graph), reason: choice.reason };
}

/** The onnxruntime executor for `graph` when the choice above falls on it; null for the tfjs engine. */
export async function onnxruntimeFor(graph: ModelGraph, options: OnnxruntimeOptions = {}): Promise<OrtNetwork | null> {
  return (await choose(graph, options)).network;
}
