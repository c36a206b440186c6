/**
 * The L∞ PGD step x ← clip(x0 + clip(x + α·sign(g) − x0, −ε, ε), bounds) as one pass of wasm
 * SIMD over host arrays. Written as separate tensor ops it is ten passes over the batch, each
 * streaming from memory: on an MNIST MLP, half of an onnxruntime PGD step; a plain JS loop is
 * slower still (about 20 ns per value: Math.min and Math.max on float32 values do not vectorise).
 *
 * Each operation is IEEE float32, in the order src/attacks/pgd.ts writes the step with tfjs ops,
 * so every executor moves an iterate to the same values. sign(NaN) is 0, as tf.sign gives.
 */

export interface LinfStepParameters {
  readonly size: number;
  readonly epsilon: number;
  readonly low: number;
  readonly high: number;
}

type StepFn = (x: number, g: number, o: number, n: number, size: number, epsilon: number, low: number, high: number) => void;

/** The few WebAssembly names used here (the project's lib has no DOM or WebAssembly types). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { readonly exports: Record<string, unknown> };
}

interface Kernel {
  readonly memory: WasmMemory;
  readonly step: StepFn;
}

let kernel: Kernel | null | undefined;

/**
 * `out` ← the step of `x` along `gradient` around `origin` (all of one length; `out` may be `x`).
 * Synchronous: no view of the kernel's memory outlives the call, so growing it is always safe.
 */
export function linfStepInto(out: Float32Array, x: Float32Array, gradient: Float32Array, origin: Float32Array, p: LinfStepParameters): Float32Array {
  const n = x.length;
  if (gradient.length !== n || origin.length !== n || out.length !== n) throw new RangeError('linfStepInto: arrays of different lengths');
  kernel ??= compile();
  if (kernel === null) return scalarStep(out, x, gradient, origin, p);
  // Three regions, each padded to whole vectors: x (overwritten with the result), g, x0.
  const padded = Math.ceil(n / 4) * 4;
  const bytes = padded * 4 * 3;
  const memory = kernel.memory;
  if (memory.buffer.byteLength < bytes) memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / 65536));
  const heap = new Float32Array(memory.buffer, 0, padded * 3);
  heap.set(x, 0);
  heap.set(gradient, padded);
  heap.set(origin, 2 * padded);
  kernel.step(0, padded * 4, padded * 8, padded, p.size, p.epsilon, p.low, p.high);
  out.set(heap.subarray(0, n));
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

/** The kernel, or null where wasm or its SIMD is missing. */
function compile(): Kernel | null {
  const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  const bytes = moduleBytes();
  if (!wasm || !wasm.validate(bytes)) return null;
  const { exports } = new wasm.Instance(new wasm.Module(bytes));
  return { memory: exports.memory as WasmMemory, step: exports.step as StepFn };
}

// Opcodes of the wasm binary format (core and the 0xfd SIMD prefix).
const I32 = 0x7f;
const F32 = 0x7d;
const V128 = 0x7b;
const op = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  end: [0x0b],
  br: (depth: number) => [0x0c, depth],
  brIf: (depth: number) => [0x0d, depth],
  get: (i: number) => [0x20, i],
  set: (i: number) => [0x21, i],
  i32Const: (v: number) => [0x41, ...sleb(v)],
  i32Add: [0x6a],
  i32GeU: [0x4f],
  f32Neg: [0x8c],
  load: [0xfd, 0x00, 4, 0],
  store: [0xfd, 0x0b, 4, 0],
  splat: [0xfd, 0x13],
  lt: [0xfd, 0x43],
  gt: [0xfd, 0x44],
  and: [0xfd, 0x4e],
  add: [0xfd, 0xe4, 0x01],
  sub: [0xfd, 0xe5, 0x01],
  // pmin/pmax (b < a ? b : a, a < b ? b : a) are one instruction on x86, min/max about six.
  // They differ only for NaN (none reaches here) and in the sign of a zero result.
  min: [0xfd, 0xea, 0x01],
  max: [0xfd, 0xeb, 0x01],
};

/**
 * step(x, g, o, n, size, eps, lo, hi): byte offsets of three arrays of n float32 (n a multiple of
 * 4); x is overwritten with the next iterate.
 */
function moduleBytes(): Uint8Array {
  // Parameters 0–7; locals: 8 offset, 9 end, 10 size·1, 11 ε·1, 12 −ε·1, 13 lo·1, 14 hi·1, 15 zero, 16 g, 17 scratch.
  const [X, G, O, N, SIZE, EPS, LO, HI] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [AT, END, VS, VEPS, VNEG, VLO, VHI, ZERO, VG, T] = [8, 9, 10, 11, 12, 13, 14, 15, 16, 17];
  const at = (base: number) => [...op.get(base), ...op.get(AT), ...op.i32Add];
  const body = [
    ...[...op.get(SIZE), ...op.splat, ...op.set(VS)],
    ...[...op.get(EPS), ...op.splat, ...op.set(VEPS)],
    ...[...op.get(EPS), ...op.f32Neg, ...op.splat, ...op.set(VNEG)],
    ...[...op.get(LO), ...op.splat, ...op.set(VLO)],
    ...[...op.get(HI), ...op.splat, ...op.set(VHI)],
    ...[...op.get(N), ...op.get(N), ...op.i32Add, ...op.get(N), ...op.i32Add, ...op.get(N), ...op.i32Add, ...op.set(END)],
    ...op.block,
    ...op.loop,
    ...[...op.get(AT), ...op.get(END), ...op.i32GeU, ...op.brIf(1)],
    ...[...at(G), ...op.load, ...op.set(VG)],
    // moved = (x + (g > 0 ? α : 0)) − (g < 0 ? α : 0)
    ...[...at(X), ...op.load],
    ...[...op.get(VG), ...op.get(ZERO), ...op.gt, ...op.get(VS), ...op.and, ...op.add],
    ...[...op.get(VG), ...op.get(ZERO), ...op.lt, ...op.get(VS), ...op.and, ...op.sub],
    // δ = min(max(moved − x0, −ε), ε)
    ...[...at(O), ...op.load, ...op.sub, ...op.get(VNEG), ...op.max, ...op.get(VEPS), ...op.min, ...op.set(T)],
    // x = min(max(x0 + δ, lo), hi)
    ...at(X),
    ...[...at(O), ...op.load, ...op.get(T), ...op.add, ...op.get(VLO), ...op.max, ...op.get(VHI), ...op.min, ...op.store],
    ...[...op.get(AT), ...op.i32Const(16), ...op.i32Add, ...op.set(AT)],
    ...op.br(0),
    ...op.end,
    ...op.end,
    ...op.end,
  ];
  const locals = [2, 2, I32, 8, V128];
  const code = [...uleb(locals.length + body.length), ...locals, ...body];
  const section = (id: number, content: number[]) => [id, ...uleb(content.length), ...content];
  const name = (s: string) => [s.length, ...Array.from(s, (c) => c.charCodeAt(0))];
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, [1, 0x60, 8, I32, I32, I32, I32, F32, F32, F32, F32, 0]),
    ...section(3, [1, 0]),
    ...section(5, [1, 0x00, 1]),
    ...section(7, [2, ...name('memory'), 0x02, 0, ...name('step'), 0x00, 0]),
    ...section(10, [1, ...code]),
  ]);
}

function uleb(v: number): number[] {
  const out: number[] = [];
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

function sleb(v: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) return [...out, byte];
    out.push(byte | 0x80);
  }
}
