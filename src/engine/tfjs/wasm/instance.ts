/**
 * The kernels of kernels.wat, instantiated over the wasm backend's own memory so that they read
 * and write tensors where tfjs keeps them. Null when that memory cannot be reached (another
 * build of the backend, a shared memory) or WebAssembly SIMD is missing: callers then use their
 * portable route.
 */
import { KERNELS_WASM_BASE64 } from './kernels-binary.js';

export interface WasmKernels {
  maxPoolConvBackprop(...args: number[]): void;
}

interface WasmBackendInternals {
  wasm?: { asm?: { memory?: unknown }; wasmMemory?: unknown };
}

/** The parts of the WebAssembly API used here (the project compiles without DOM typings). */
interface Memory {
  readonly buffer: ArrayBufferLike;
}
interface WebAssemblyApi {
  Memory: abstract new (...args: never[]) => Memory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
  validate(bytes: Uint8Array): boolean;
}
const api = (globalThis as { WebAssembly?: WebAssemblyApi }).WebAssembly;

const instances = new WeakMap<Memory, WasmKernels | null>();
let compiled: object | null | undefined;

function compile(): object | null {
  if (compiled === undefined) {
    try {
      const bytes = Uint8Array.from(atob(KERNELS_WASM_BASE64), (ch) => ch.charCodeAt(0));
      compiled = api?.validate(bytes) ? new api.Module(bytes) : null;
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

function memoryOf(backend: unknown): Memory | null {
  const wasm = (backend as WasmBackendInternals).wasm;
  const memory = wasm?.asm?.memory ?? wasm?.wasmMemory;
  if (!api || !(memory instanceof api.Memory)) return null;
  if (typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer) return null;
  return memory;
}

/** The kernels bound to `backend`'s heap (a tfjs wasm backend), or null. */
export function wasmKernels(backend: unknown): WasmKernels | null {
  const memory = memoryOf(backend);
  if (!memory) return null;
  if (instances.has(memory)) return instances.get(memory)!;
  const module = compile();
  let kernels: WasmKernels | null = null;
  if (module && api) {
    try {
      kernels = new api.Instance(module, { env: { memory } }).exports as unknown as WasmKernels;
    } catch {
      kernels = null;
    }
  }
  instances.set(memory, kernels);
  return kernels;
}
