/**
 * The L∞ PGD step x ← clip(x0 + clip(x + α·sign(g) − x0, −ε, ε), bounds) as one pass of wasm
 * SIMD over host arrays (wasm/linf-step.wat). Written as separate tensor ops it is ten passes over
 * the batch, each streaming from memory: on an MNIST MLP, half of an onnxruntime PGD step; a
 * plain JS loop is slower still (about 20 ns per value: Math.min and Math.max on float32 values
 * do not vectorise).
 *
 * Each operation is IEEE float32, in the order src/attacks/pgd.ts writes the step with tfjs ops,
 * so every executor moves an iterate to the same values. sign(NaN) is 0, as tf.sign gives.
 */
import { LINF_STEP_WASM_BASE64 } from './wasm/linf-step-binary.js';
import { compileKernelModule, WASM_PAGE, wasmApi, type WasmMemory } from './wasm/api.js';
import { IdlePool } from './idle-pool.js';

export interface LinfStepParameters {
  readonly size: number;
  readonly epsilon: number;
  readonly low: number;
  readonly high: number;
}

type StepFn = (x: number, g: number, o: number, out: number, n: number, size: number, epsilon: number, low: number, high: number) => void;

interface Kernel {
  readonly memory: WasmMemory;
  readonly step: StepFn;
}

/**
 * The arrays of one L∞ loop, in memory the step reads and writes directly: the iterate, the next
 * one, the origins and the gradient, `capacity` values each. An executor can read `x` and write
 * `gradient` in place. Each arena has its own wasm memory, sized once when it is made, so no view
 * of it is ever detached by growth, and loops running at once each hold their own.
 */
export class LinfArena {
  x: Float32Array;
  next: Float32Array;
  readonly origin: Float32Array;
  readonly gradient: Float32Array;
  private readonly kernel: Kernel | null;

  constructor(readonly capacity: number) {
    const padded = Math.ceil(capacity / 4) * 4;
    this.kernel = instantiate(padded * 4 * 4);
    const buffer = this.kernel?.memory.buffer ?? new ArrayBuffer(padded * 4 * 4);
    [this.x, this.next, this.origin, this.gradient] = [0, 1, 2, 3].map((k) => new Float32Array(buffer, k * padded * 4, capacity));
  }

  /** next ← the step of x along gradient around origin, for the first `values` of each; then x and next swap. */
  step(values: number, p: LinfStepParameters): void {
    if (values > this.capacity) throw new RangeError(`LinfArena.step: ${values} values in an arena of ${this.capacity}`);
    if (this.kernel) {
      this.kernel.step(this.x.byteOffset, this.gradient.byteOffset, this.origin.byteOffset, this.next.byteOffset, Math.ceil(values / 4) * 4, p.size, p.epsilon, p.low, p.high);
    } else {
      const head = (a: Float32Array) => a.subarray(0, values);
      scalarStep(head(this.next), head(this.x), head(this.gradient), head(this.origin), p);
    }
    [this.x, this.next] = [this.next, this.x];
  }
}

/**
 * Idle arenas, their pages already touched. Two are kept: one per loop running at once, and an
 * arena of a 224×224 batch is tens of megabytes.
 */
const idle = new IdlePool<LinfArena>(2, (arena) => arena.capacity);

/** An arena of at least `capacity` values per array, lent until it is given back. */
export function borrowArena(capacity: number): LinfArena {
  return idle.take(capacity) ?? new LinfArena(capacity);
}

/** Takes an arena back from borrowArena(). */
export function giveBackArena(arena: LinfArena): void {
  idle.put(arena);
}

let scratch: LinfArena | undefined;

/**
 * `out` ← the step of `x` along `gradient` around `origin` (all of one length; `out` may be `x`),
 * through copies into an arena of this module's. Synchronous, so one arena serves every call.
 */
export function linfStepInto(out: Float32Array, x: Float32Array, gradient: Float32Array, origin: Float32Array, p: LinfStepParameters): Float32Array {
  const n = x.length;
  if (gradient.length !== n || origin.length !== n || out.length !== n) throw new RangeError('linfStepInto: arrays of different lengths');
  if (!scratch || scratch.capacity < n) scratch = new LinfArena(n);
  scratch.x.set(x);
  scratch.gradient.set(gradient);
  scratch.origin.set(origin);
  scratch.step(n, p);
  out.set(scratch.x.subarray(0, n));
  return out;
}

const f32 = Math.fround;

/** The same step in plain JS, for an engine without wasm SIMD (exported for its test). */
export function scalarStep(out: Float32Array, xs: Float32Array, gs: Float32Array, x0s: Float32Array, p: LinfStepParameters): Float32Array {
  const [size, eps, lo, hi] = [f32(p.size), f32(p.epsilon), f32(p.low), f32(p.high)];
  for (let i = 0; i < out.length; i++) {
    const g = gs[i]!;
    const moved = f32(f32(xs[i]! + (g > 0 ? size : 0)) - (g < 0 ? size : 0));
    const delta = Math.min(Math.max(f32(moved - x0s[i]!), -eps), eps);
    out[i] = Math.min(Math.max(f32(x0s[i]! + delta), lo), hi);
  }
  return out;
}

/** A kernel instance with `bytes` of memory of its own, or null where wasm or its SIMD is missing. */
function instantiate(bytes: number): Kernel | null {
  const module = compileKernelModule(LINF_STEP_WASM_BASE64);
  if (!module || !wasmApi) return null;
  const { exports } = new wasmApi.Instance(module);
  const memory = exports.memory as WasmMemory;
  const pages = Math.ceil(bytes / WASM_PAGE) - memory.buffer.byteLength / WASM_PAGE;
  if (pages > 0) memory.grow(pages);
  return { memory, step: exports.step as StepFn };
}
