/**
 * onnxruntime-node, loaded on first use: it is an optional peer, so nothing imports it (or its
 * types) at load time, and its absence is a reason to run on tfjs rather than an error.
 */
import { availableParallelism } from 'node:os';
import { runInThisContext } from 'node:vm';
import { RobustestError } from '../../errors.js';

export interface OrtTensor {
  readonly dims: readonly number[];
  readonly data: unknown;
}

export interface OrtSession {
  /** `fetches` may name outputs with tensors to write into (null: onnxruntime allocates). */
  run(feeds: Record<string, OrtTensor>, fetches?: Record<string, OrtTensor | null>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}

export interface OrtSessionOptions {
  intraOpNumThreads: number;
  interOpNumThreads: number;
  executionMode: 'sequential';
  graphOptimizationLevel: 'all';
  logSeverityLevel: 0 | 1 | 2 | 3 | 4;
}

export interface OrtModule {
  readonly InferenceSession: { create(model: Uint8Array, options: OrtSessionOptions): Promise<OrtSession> };
  readonly Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => OrtTensor;
  readonly env?: { readonly versions?: { readonly node?: string } };
}

let loading: Promise<OrtModule | string> | undefined;

/** The onnxruntime-node module, or why it cannot be used. */
export function loadRuntime(): Promise<OrtModule | string> {
  // onnxruntime-node hands back its outputs as typed arrays of Node's own realm, which its Tensor
  // rejects when loaded in a realm of its own: Jest runs each test file in one
  // (microsoft/onnxruntime#16622). There every run would fail, so it counts as unavailable.
  loading ??=
    runInThisContext('Float32Array') !== Float32Array
      ? Promise.resolve("onnxruntime-node cannot run inside this test runner's realm (Jest): its outputs fail its own Float32Array check")
      : import(/* @vite-ignore */ 'onnxruntime-node').then(
          (m: Partial<OrtModule> & { default?: OrtModule }) => {
            const ort = (m.InferenceSession ? m : m.default) as OrtModule | undefined;
            return ort?.InferenceSession && ort.Tensor ? ort : 'onnxruntime-node does not export InferenceSession and Tensor';
          },
          (error: unknown) => `onnxruntime-node is not installed (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`,
        );
  return loading;
}

/**
 * Intra-op threads: the option, else ROBUSTEST_THREADS, else one per core. Inter-op parallelism
 * stays off: the emitted graphs are chains, and a second pool would compete for the same cores.
 */
export function threadCount(option?: number): number {
  const fromEnv = process.env.ROBUSTEST_THREADS;
  const value = option ?? (fromEnv !== undefined && fromEnv !== '' ? Number(fromEnv) : availableParallelism());
  if (!Number.isInteger(value) || value < 1) {
    throw new RobustestError('INVALID_OPTION', 'The onnxruntime thread count must be a positive integer.', {
      expected: 'threads ≥ 1 (option `threads` or ROBUSTEST_THREADS)',
      received: option !== undefined ? String(option) : `ROBUSTEST_THREADS=${fromEnv}`,
    });
  }
  return value;
}

export function sessionOptions(threads: number): OrtSessionOptions {
  // Errors only: the optimiser's notes (an initializer it folded away) are not the user's concern.
  return { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all', logSeverityLevel: 3 };
}
