/**
 * Constant folding against references: every folding rule gives the shape and values of the
 * tfjs op on the cpu backend, and StridedSlice, over hundreds of seeded random mask, index and
 * stride combinations, those of numpy's indexing (tfjs's own stridedSlice mis-orders negative
 * strides next to a shrunk axis, so it cannot be the reference there).
 */
import { spawnSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/random.js';
import { fold } from '../../src/graph/tfjs-graph/fold.js';
import type { NodeDef } from '../../src/graph/tfjs-graph/graphdef.js';
import { Known } from '../../src/graph/tfjs-graph/values.js';
import { attr } from '../fixtures/tfjs-graph/graphdef.js';

function node(op: string, attrs: Record<string, Record<string, unknown>> = {}): NodeDef {
  return { name: op.toLowerCase(), op, attr: attrs as NodeDef['attr'] };
}

function known(t: tf.Tensor): Known {
  return Known.of(t.dtype === 'float32' ? 'float32' : 'int32', t.shape, t.dataSync());
}

function expectSame(k: Known, t: tf.Tensor): void {
  expect(k.shape).toEqual(t.shape);
  const expected = Array.from(t.dataSync());
  const got = k.list();
  expected.forEach((v, i) => expect(got[i]).toBeCloseTo(v, 5));
}

const rng = new Rng(33);

/**
 * numpy's basic indexing of arange(size).reshape(shape), which TensorFlow's StridedSlice follows:
 * a masked bound is omitted, a shrunk axis is an integer index, a new axis is None.
 */
function numpyStridedSlices(cases: { shape: number[]; begin: number[]; end: number[]; strides: number[]; masks: Record<string, number> }[]): { error: boolean; shape: number[]; values: number[] }[] {
  const script = [
    'import json, sys',
    'import numpy as np',
    'out = []',
    'for c in json.load(sys.stdin):',
    '    x = np.arange(int(np.prod(c["shape"]))).reshape(c["shape"])',
    '    m = c["masks"]',
    '    index = []',
    '    for i, (b, e, s) in enumerate(zip(c["begin"], c["end"], c["strides"])):',
    '        bit = 1 << i',
    '        if m["ellipsis"] & bit: index.append(Ellipsis)',
    '        elif m["newAxis"] & bit: index.append(None)',
    '        elif m["shrink"] & bit: index.append(b)',
    '        else: index.append(slice(None if m["begin"] & bit else b, None if m["end"] & bit else e, s))',
    '    try:',
    '        y = np.asarray(x[tuple(index)])',
    '        out.append({"error": False, "shape": list(y.shape), "values": [int(v) for v in y.reshape(-1)]})',
    '    except IndexError:',
    '        out.append({"error": True, "shape": [], "values": []})',
    'json.dump(out, sys.stdout)',
  ].join('\n');
  const result = spawnSync('python3', ['-c', script], { input: JSON.stringify(cases), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`python3 with numpy is needed for this oracle: ${result.stderr || result.error?.message}`);
  return JSON.parse(result.stdout) as { error: boolean; shape: number[]; values: number[] }[];
}
const randomTensor = (shape: number[]) => tf.tensor(rng.fillUniform(new Float32Array(shape.reduce((a, b) => a * b, 1)), -2, 2), shape);

describe('constant folding', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('StridedSlice equals numpy\'s indexing (TensorFlow\'s semantics) over random masks, indices and strides', () => {
    interface Case { shape: number[]; begin: number[]; end: number[]; strides: number[]; masks: Record<'begin' | 'end' | 'ellipsis' | 'newAxis' | 'shrink', number> }
    const cases: Case[] = [];
    for (let trial = 0; trial < 400; trial++) {
      const rank = 1 + rng.int(4);
      const shape = Array.from({ length: rank }, () => 1 + rng.int(5));
      const n = 1 + rng.int(rank);
      const begin = Array.from({ length: n }, () => rng.int(13) - 6);
      const end = Array.from({ length: n }, () => rng.int(13) - 6);
      const strides = Array.from({ length: n }, () => [1, 1, 2, -1, 3, -2][rng.int(6)]!);
      const bits = () => Array.from({ length: n }, (_, i) => (rng.next() < 0.3 ? 1 << i : 0)).reduce((a, b) => a | b, 0);
      const ellipsis = rng.next() < 0.3 ? 1 << rng.int(n) : 0;
      const newAxis = bits() & ~ellipsis;
      const masks = { begin: bits(), end: bits(), ellipsis, newAxis, shrink: bits() & ~ellipsis & ~newAxis };
      cases.push({ shape, begin, end, strides, masks });
    }
    const answers = numpyStridedSlices(cases);
    let compared = 0;
    cases.forEach((c, k) => {
      const size = c.shape.reduce((a, b) => a * b, 1);
      const x = Known.of('int32', c.shape, Array.from({ length: size }, (_, i) => i));
      const attrs = { begin_mask: attr.i(c.masks.begin), end_mask: attr.i(c.masks.end), ellipsis_mask: attr.i(c.masks.ellipsis), new_axis_mask: attr.i(c.masks.newAxis), shrink_axis_mask: attr.i(c.masks.shrink) };
      const answer = answers[k]!;
      let got: Known;
      try {
        got = fold(node('StridedSlice', attrs), [x, Known.vector(c.begin), Known.vector(c.end), Known.vector(c.strides)])[0]!;
      } catch (e) {
        // numpy refuses an out-of-range index on a shrunk axis, and so does the fold.
        expect(answer.error, JSON.stringify(c)).toBe(true);
        expect((e as Error).message).toMatch(/out of range/);
        return;
      }
      expect(answer.error, JSON.stringify(c)).toBe(false);
      expect(got.shape, JSON.stringify(c)).toEqual(answer.shape);
      expect(got.list(), JSON.stringify(c)).toEqual(answer.values);
      compared++;
    });
    expect(compared).toBeGreaterThan(300);
  });

  it('layout rules equal tfjs: Reshape, Squeeze, ExpandDims, Transpose, Slice, Pack, Unpack, ConcatV2, GatherV2, Pad, PadV2', () => {
    const x = randomTensor([2, 3, 1, 4]);
    const k = known(x);
    expectSame(fold(node('Reshape'), [k, Known.vector([3, -1])])[0]!, tf.reshape(x, [3, -1]));
    expectSame(fold(node('Squeeze', { squeeze_dims: attr.ints([2]) }), [k])[0]!, tf.squeeze(x, [2]));
    expectSame(fold(node('Squeeze'), [k])[0]!, tf.squeeze(x));
    expectSame(fold(node('ExpandDims'), [k, Known.scalar(-1, 'int32')])[0]!, tf.expandDims(x, -1));
    expectSame(fold(node('Transpose'), [k, Known.vector([3, 0, 2, 1])])[0]!, tf.transpose(x, [3, 0, 2, 1]));
    expectSame(fold(node('Slice'), [k, Known.vector([1, 1, 0, 1]), Known.vector([1, -1, 1, 2])])[0]!, tf.slice(x, [1, 1, 0, 1], [1, -1, 1, 2]));
    const y = randomTensor([2, 3, 1, 4]);
    expectSame(fold(node('Pack', { axis: attr.i(1) }), [k, known(y)])[0]!, tf.stack([x, y], 1));
    const parts = fold(node('Unpack', { axis: attr.i(1) }), [k]);
    tf.unstack(x, 1).forEach((t, i) => expectSame(parts[i]!, t));
    expectSame(fold(node('ConcatV2'), [k, known(y), Known.scalar(-1, 'int32')])[0]!, tf.concat([x, y], -1));
    expectSame(fold(node('GatherV2'), [k, Known.of('int32', [2, 2], [3, 0, -1, 1]), Known.scalar(3, 'int32')])[0]!, tf.gather(x, tf.tensor2d([3, 0, 3, 1], [2, 2], 'int32'), 3));
    expectSame(fold(node('Pad'), [k, Known.of('int32', [4, 2], [0, 1, 2, 0, 0, 0, 1, 1])])[0]!, tf.pad(x, [[0, 1], [2, 0], [0, 0], [1, 1]]));
    expectSame(fold(node('PadV2'), [k, Known.of('int32', [4, 2], [1, 0, 0, 0, 1, 1, 0, 2]), Known.scalar(0.5)])[0]!, tf.pad(x, [[1, 0], [0, 0], [1, 1], [0, 2]], 0.5));
  });

  it('arithmetic equals tfjs: broadcasting binaries, unaries, reductions, Fill, Range, Cast', () => {
    const a = randomTensor([3, 1, 4]);
    const b = randomTensor([2, 1]);
    const positive = tf.abs(a).add(0.1);
    const pairs: [string, (p: tf.Tensor, q: tf.Tensor) => tf.Tensor][] = [
      ['AddV2', tf.add],
      ['Sub', tf.sub],
      ['Mul', tf.mul],
      ['RealDiv', tf.div],
      ['Maximum', tf.maximum],
      ['Minimum', tf.minimum],
      ['SquaredDifference', tf.squaredDifference],
    ];
    for (const [op, f] of pairs) expectSame(fold(node(op), [known(a), known(b)])[0]!, f(a, b));
    const unaries: [string, (p: tf.Tensor) => tf.Tensor, tf.Tensor][] = [
      ['Relu', tf.relu, a],
      ['Relu6', tf.relu6, a.mul(4)],
      ['Elu', tf.elu, a],
      ['Selu', tf.selu, a],
      ['Sigmoid', tf.sigmoid, a],
      ['Tanh', tf.tanh, a],
      ['Softplus', tf.softplus, a],
      ['Exp', tf.exp, a],
      ['Neg', tf.neg, a],
      ['Abs', tf.abs, a],
      ['Square', tf.square, a],
      ['Sqrt', tf.sqrt, positive],
      ['Rsqrt', tf.rsqrt, positive],
      ['Reciprocal', tf.reciprocal, positive],
      ['Log', tf.log, positive],
    ];
    for (const [op, f, x] of unaries) expectSame(fold(node(op), [known(x)])[0]!, f(x));
    const reductions: [string, (p: tf.Tensor, axes: number[], keep: boolean) => tf.Tensor][] = [
      ['Sum', tf.sum],
      ['Prod', tf.prod],
      ['Max', tf.max],
      ['Min', tf.min],
      ['Mean', tf.mean],
    ];
    for (const [op, f] of reductions) {
      for (const keep of [false, true]) expectSame(fold(node(op, { keep_dims: attr.b(keep) }), [known(a), Known.vector([0, -1])])[0]!, f(a, [0, 2], keep));
    }
    expectSame(fold(node('Fill'), [Known.vector([2, 3]), Known.scalar(1.5)])[0]!, tf.fill([2, 3], 1.5));
    expectSame(fold(node('Range'), [Known.scalar(1, 'int32'), Known.scalar(10, 'int32'), Known.scalar(3, 'int32')])[0]!, tf.range(1, 10, 3, 'int32'));
    expectSame(fold(node('Cast', { DstT: attr.type('DT_INT32') }), [known(a.mul(3))])[0]!, tf.cast(a.mul(3), 'int32'));
  });

  it('keeps the batch size (NaN) through shape arithmetic', () => {
    const shape = Known.vector([Number.NaN, 7, 7, 32]);
    const [rest] = fold(node('StridedSlice', { begin_mask: attr.i(0), end_mask: attr.i(1), shrink_axis_mask: attr.i(0) }), [shape, Known.vector([1]), Known.vector([0]), Known.vector([1])]);
    expect(rest!.list()).toEqual([7, 7, 32]);
    const [features] = fold(node('Prod', { keep_dims: attr.b(false) }), [rest!, Known.vector([0])]);
    expect(features!.list()).toEqual([1568]);
    const [batch] = fold(node('StridedSlice', { shrink_axis_mask: attr.i(1) }), [shape, Known.vector([0]), Known.vector([1]), Known.vector([1])]);
    const [target] = fold(node('Pack', { axis: attr.i(0) }), [batch!, features!]);
    expect(target!.list()).toEqual([Number.NaN, 1568]);
    const [everything] = fold(node('Prod', { keep_dims: attr.b(false) }), [shape, Known.vector([0])]);
    expect(everything!.list()).toEqual([Number.NaN]);
  });
});
