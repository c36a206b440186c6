/**
 * The kernels of kernels.wat, instantiated over the wasm backend's own memory so that they read
 * and write tensors where tfjs keeps them. Null when that memory cannot be reached (another
 * build of the backend, a shared memory) or WebAssembly SIMD is missing: callers then use their
 * portable route.
 */
import { KERNELS_WASM_BASE64 } from './kernels-binary.js';
import { compileKernelModule, wasmApi, type WasmMemory } from '../../wasm/api.js';

export interface WasmKernels {
  maxPoolConvBackprop(...args: number[]): void;
}

interface WasmBackendInternals {
  wasm?: { asm?: { memory?: unknown }; wasmMemory?: unknown };
}

const instances = new WeakMap<WasmMemory, WasmKernels | null>();

function memoryOf(backend: unknown): WasmMemory | null {
  const wasm = (backend as WasmBackendInternals).wasm;
  const memory = wasm?.asm?.memory ?? wasm?.wasmMemory;
  if (!wasmApi || !(memory instanceof wasmApi.Memory)) return null;
  if (typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer) return null;
  return memory;
}

/** The kernels bound to `backend`'s heap (a tfjs wasm backend), or null. */
export function wasmKernels(backend: unknown): WasmKernels | null {
  const memory = memoryOf(backend);
  if (!memory) return null;
  if (instances.has(memory)) return instances.get(memory)!;
  const module = compileKernelModule(KERNELS_WASM_BASE64);
  let kernels: WasmKernels | null = null;
  if (module && wasmApi) {
    try {
      kernels = new wasmApi.Instance(module, { env: { memory } }).exports as unknown as WasmKernels;
    } catch {
      kernels = null;
    }
  }
  instances.set(memory, kernels);
  return kernels;
}
