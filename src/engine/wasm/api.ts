/**
 * The parts of the WebAssembly API the hand-written kernels use (the project compiles without
 * DOM typings), and the one way they are compiled: from the base64 bytes `npm run build:kernels`
 * embeds, validated, once per module.
 */

export interface WasmMemory {
  readonly buffer: ArrayBufferLike;
  grow(pages: number): number;
}

export interface WasmApi {
  Memory: abstract new (...args: never[]) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports?: object) => { readonly exports: Record<string, unknown> };
  validate(bytes: Uint8Array): boolean;
}

export const WASM_PAGE = 65536;

/** The runtime's WebAssembly, if it has one. */
export const wasmApi: WasmApi | undefined = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;

const compiled = new Map<string, object | null>();

/** The compiled module of these bytes, or null where WebAssembly or an instruction it uses (SIMD) is missing. */
export function compileKernelModule(base64: string): object | null {
  let module = compiled.get(base64);
  if (module === undefined) {
    try {
      const bytes = Uint8Array.from(atob(base64), (ch) => ch.charCodeAt(0));
      module = wasmApi?.validate(bytes) ? new wasmApi.Module(bytes) : null;
    } catch {
      module = null;
    }
    compiled.set(base64, module);
  }
  return module;
}
