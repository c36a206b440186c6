/**
 * The kernels of kernels.wat, one instance per bounded layer with a memory of its own: the layer's
 * weights are copied in once and stay at fixed offsets; each call lays its working arrays out
 * after them. The instance, and with it the memory, goes when the layer goes. Null where
 * WebAssembly or its SIMD is missing: layers then take their portable route.
 *
 * Views of the memory are renewed whenever it grows (growing detaches the old ones), so callers
 * read `f64` and `i32` after their last `ensure`.
 */
import { compileKernelModule, wasmApi, WASM_PAGE, type WasmMemory } from '../../engine/wasm/api.js';
import { CERTIFY_KERNELS_BASE64 } from './kernels-binary.js';

type Kernel = (...args: number[]) => void;

function compile(): object | null {
  return compileKernelModule(CERTIFY_KERNELS_BASE64);
}

/** Whether the kernels run here; `ROBUSTEST_CERTIFY_KERNELS=0` turns them off (the portable route, for comparisons). */
export function kernelsAvailable(): boolean {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  return env?.ROBUSTEST_CERTIFY_KERNELS !== '0' && compile() !== null;
}

export class KernelHeap {
  private readonly memory: WasmMemory;
  /** rows(m, at, coef, count, out, chunks): see kernels.wat. */
  readonly rows: Kernel;
  /** convReluPool(lower, upper, inBytes, index, patch, windows, start, count, batch, kernel, absKernel, chunks, bias, tmp, pixLo, pixHi, outLower, outUpper, centres, eps, norms): see kernels.wat. */
  readonly convReluPool: Kernel;
  /** rows2(m, at, coef, coef2, count, out, out2, chunks): see kernels.wat. */
  readonly rows2: Kernel;
  /** rowsMinimum(m, at, coef, count, chunks, mid, rad, centre, out): see kernels.wat. */
  readonly rowsMinimum: Kernel;
  /** rowsMinimum2(m, at, coef, coef2, count, chunks, mid, rad, centre, out): see kernels.wat. */
  readonly rowsMinimum2: Kernel;
  /** convInterval(lower, upper, inBytes, index, patch, pixels, batch, kernel, absKernel, chunks, bias, tmp, outLower, outUpper). */
  readonly convInterval: Kernel;
  private kept = 0;
  private view64: Float64Array;
  private view32: Int32Array;

  private constructor(module: object) {
    const { exports } = new wasmApi!.Instance(module);
    this.memory = exports.memory as WasmMemory;
    this.rows = exports.rows as Kernel;
    this.convInterval = exports.convInterval as Kernel;
    this.rowsMinimum = exports.rowsMinimum as Kernel;
    this.rows2 = exports.rows2 as Kernel;
    this.rowsMinimum2 = exports.rowsMinimum2 as Kernel;
    this.convReluPool = exports.convReluPool as Kernel;
    this.view64 = new Float64Array(this.memory.buffer);
    this.view32 = new Int32Array(this.memory.buffer);
  }

  /** A new instance, or null where the kernels do not run. */
  static create(): KernelHeap | null {
    if (!kernelsAvailable()) return null;
    return new KernelHeap(compile()!);
  }

  /** The memory as float64 values (index = byte offset / 8). */
  get f64(): Float64Array {
    if (this.view64.buffer !== this.memory.buffer) this.view64 = new Float64Array(this.memory.buffer);
    return this.view64;
  }

  /** The memory as int32 values (index = byte offset / 4). */
  get i32(): Int32Array {
    if (this.view32.buffer !== this.memory.buffer) this.view32 = new Int32Array(this.memory.buffer);
    return this.view32;
  }

  /**
   * Byte offset of `bytes` bytes kept for the instance's life (weights), 64-byte aligned and
   * zeroed: earlier calls may have laid their working arrays there, and the kernels read the
   * padding of whole chunks.
   */
  keep(bytes: number): number {
    const at = this.kept;
    this.kept = align(at + bytes);
    this.ensure(this.kept);
    this.f64.fill(0, at >> 3, this.kept >> 3);
    return at;
  }

  /** Where a call's working arrays may start (after everything kept). */
  get workBase(): number {
    return this.kept;
  }

  /** Makes the memory at least `bytes` long. */
  ensure(bytes: number): void {
    const have = this.memory.buffer.byteLength;
    if (bytes > have) this.memory.grow(Math.ceil((bytes - have) / WASM_PAGE));
  }
}

/** The next multiple of 64 bytes (a cache line; whole v128 chunks of eight f64). */
export function align(bytes: number): number {
  return Math.ceil(bytes / 64) * 64;
}
