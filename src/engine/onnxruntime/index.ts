/**
 * The onnxruntime executor: a ModelGraph compiled to ONNX models (logits; logits, loss and input
 * gradient) and run by onnxruntime-node, when it is installed and every node can be written.
 */
import type { ModelGraph } from '../../graph/types.js';
import { UnsupportedNode } from '../../graph/types.js';
import { checkEmittable } from './model.js';
import { OnnxruntimeNetwork, type OrtNetwork } from './network.js';
import { loadRuntime, threadCount } from './runtime.js';
import type { StridedGradient } from './windows.js';

export type { OrtNetwork } from './network.js';
export type { StridedGradient } from './windows.js';

export interface OnnxruntimeOptions {
  /** Intra-op threads. Default: ROBUSTEST_THREADS, else one per core. */
  threads?: number;
  /**
   * How strided convolutions' input gradients are written. Default 'conv-transpose', which
   * bench/onnxruntime.ts measures faster on MobileNetV2 than 'zero-insertion'.
   */
  stridedGradient?: StridedGradient;
}

export type OnnxruntimeAttempt = { readonly network: OrtNetwork; readonly reason?: undefined } | { readonly network: null; readonly reason: string };

/** The executor for `graph`, or why there is none (onnxruntime-node missing, a node it cannot write). */
export async function tryOnnxruntimeNetwork(graph: ModelGraph, options: OnnxruntimeOptions = {}): Promise<OnnxruntimeAttempt> {
  const threads = threadCount(options.threads);
  const ort = await loadRuntime();
  if (typeof ort === 'string') return { network: null, reason: ort };
  try {
    checkEmittable(graph);
  } catch (error) {
    if (error instanceof UnsupportedNode) return { network: null, reason: `the model graph has a node onnxruntime cannot run: ${error.message}` };
    throw error;
  }
  const network = new OnnxruntimeNetwork(graph, ort, threads, options.stridedGradient ?? 'conv-transpose');
  try {
    // Emitting and loading the forward model up front turns any surprise into a fallback, not a failed attack.
    await network.session({ kind: 'forward' });
  } catch (error) {
    network.dispose();
    return { network: null, reason: `onnxruntime could not load the emitted model: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}` };
  }
  return { network };
}

/** The executor for `graph`, or null when onnxruntime cannot run it (tryOnnxruntimeNetwork says why). */
export async function onnxruntimeNetwork(graph: ModelGraph, options: OnnxruntimeOptions = {}): Promise<OrtNetwork | null> {
  return (await tryOnnxruntimeNetwork(graph, options)).network;
}
