/** Per-sample output shapes of graph nodes, from their inputs' shapes. */
import type { Op, Padding } from './types.js';
import { UnsupportedNode } from './types.js';

/** Explicit [top, bottom, left, right] pads of a padding for this window geometry. */
export function explicitPads(padding: Padding, inHW: readonly [number, number], size: readonly [number, number], strides: readonly [number, number], dilations: readonly [number, number] = [1, 1]): [number, number, number, number] {
  if (padding === 'valid') return [0, 0, 0, 0];
  if (padding !== 'same') return [padding[0], padding[1], padding[2], padding[3]];
  const pads: number[] = [];
  for (let a = 0; a < 2; a++) {
    const effective = (size[a]! - 1) * dilations[a]! + 1;
    const out = Math.ceil(inHW[a]! / strides[a]!);
    const total = Math.max(0, (out - 1) * strides[a]! + effective - inHW[a]!);
    pads.push(Math.floor(total / 2), total - Math.floor(total / 2));
  }
  return [pads[0]!, pads[1]!, pads[2]!, pads[3]!];
}

function windowed(source: string, inShape: readonly number[], size: readonly [number, number], strides: readonly [number, number], dilations: readonly [number, number], padding: Padding, channels: number): number[] {
  if (inShape.length !== 3) throw new UnsupportedNode(source, `expects an image [H, W, C], got [${inShape.join(', ')}]`);
  const [h, w] = inShape as [number, number, number];
  const p = explicitPads(padding, [h, w], size, strides, dilations);
  const out = (n: number, k: number, s: number, d: number, before: number, after: number) => Math.floor((n + before + after - ((k - 1) * d + 1)) / s) + 1;
  const oh = out(h, size[0], strides[0], dilations[0], p[0], p[1]);
  const ow = out(w, size[1], strides[1], dilations[1], p[2], p[3]);
  if (oh < 1 || ow < 1) throw new UnsupportedNode(source, `window larger than its [${h}, ${w}] input`);
  return [oh, ow, channels];
}

/** Numpy broadcasting of two per-sample shapes. */
export function broadcast(source: string, a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new UnsupportedNode(source, `cannot broadcast [${a.join(', ')}] with [${b.join(', ')}]`);
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** A reshape target with its one −1 resolved against the input's size. */
export function resolveReshape(source: string, target: readonly number[], input: readonly number[]): number[] {
  const total = input.reduce((a, b) => a * b, 1);
  const known = target.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const free = target.filter((d) => d === -1).length;
  if (free > 1 || (free === 1 && (known === 0 || total % known !== 0)) || (free === 0 && known !== total)) {
    throw new UnsupportedNode(source, `cannot reshape [${input.join(', ')}] to [${target.join(', ')}]`);
  }
  return target.map((d) => (d === -1 ? total / known : d));
}

export function outputShape(op: Op, inputs: readonly (readonly number[])[], source: string): number[] {
  const x = inputs[0] ?? [];
  const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
  switch (op.kind) {
    case 'constant':
      return [...op.value.shape];
    case 'conv2d':
      if (x[2] !== op.filter.shape[2]) throw new UnsupportedNode(source, `filter for ${op.filter.shape[2]} channels on an input with ${x[2]}`);
      return windowed(source, x, [op.filter.shape[0]!, op.filter.shape[1]!], op.strides, op.dilations, op.padding, op.filter.shape[3]!);
    case 'depthwiseConv2d':
      if (x[2] !== op.filter.shape[2]) throw new UnsupportedNode(source, `filter for ${op.filter.shape[2]} channels on an input with ${x[2]}`);
      return windowed(source, x, [op.filter.shape[0]!, op.filter.shape[1]!], op.strides, op.dilations, op.padding, op.filter.shape[2]! * op.filter.shape[3]!);
    case 'dense':
      if (x[x.length - 1] !== op.kernel.shape[0]) throw new UnsupportedNode(source, `kernel for ${op.kernel.shape[0]} features on an input [${x.join(', ')}]`);
      return [...x.slice(0, -1), op.kernel.shape[1]!];
    case 'maxPool':
    case 'avgPool':
      return windowed(source, x, op.size, op.strides, [1, 1], op.padding, x[2]!);
    case 'mean': {
      const axes = new Set(op.axes.map((a) => (a < 0 ? a + x.length : a)));
      return op.keepDims ? x.map((d, i) => (axes.has(i) ? 1 : d)) : x.filter((_, i) => !axes.has(i));
    }
    case 'binary':
      return broadcast(source, x, inputs[1] ?? []);
    case 'concat': {
      const axis = op.axis < 0 ? op.axis + x.length : op.axis;
      const out = [...x];
      out[axis] = inputs.reduce((total, s) => total + s[axis]!, 0);
      return out;
    }
    case 'pad':
      return x.map((d, i) => d + op.pads[i]![0] + op.pads[i]![1]);
    case 'reshape':
      if (size(op.shape) !== size(x)) throw new UnsupportedNode(source, `reshape of [${x.join(', ')}] to [${op.shape.join(', ')}]`);
      return [...op.shape];
    case 'transpose':
      return op.perm.map((p) => x[p]!);
    case 'slice':
      return op.size.map((s, i) => (s < 0 ? x[i]! - op.begin[i]! : s));
    case 'batchNorm':
    case 'activation':
    case 'softmax':
      return [...x];
    case 'opaque':
      throw new UnsupportedNode(source, 'an opaque node has no static shape rule');
  }
}
