/** Gemm and MatMul with a constant right operand: dense nodes over the last axis. */
import { UnsupportedNode } from '../../types.js';
import { slotValue, type ImportContext, type OnnxNode, type Rule, type Value } from '../context.js';
import { host, sizeOf, transposeHost, type HostTensor } from '../host-tensor.js';

function scaled(t: HostTensor, by: number): HostTensor {
  return by === 1 ? t : host('float', t.shape, Array.from(t.data, (v) => v * by));
}

/** Y = alpha·A·op(B) + beta·C for A [N, K] from the model, B and C known. */
function gemm(node: OnnxNode, ctx: ImportContext): Value {
  const a = ctx.slotInput(node, 0);
  if (ctx.rank(a) !== 2) throw new UnsupportedNode(node.source, `A must be [N, K], got rank ${ctx.rank(a)}`);
  if (node.attrs.int('transA', 0) !== 0) throw new UnsupportedNode(node.source, 'transA = 1 on a model value (it would transpose the batch)');
  let b = ctx.constInput(node, 1, 'B');
  if (b.shape.length !== 2) throw new UnsupportedNode(node.source, `B of shape [${b.shape.join(', ')}]`);
  if (node.attrs.int('transB', 0) === 1) b = transposeHost(b, [1, 0]);
  const kernel = scaled(b, node.attrs.float('alpha', 1));
  const units = kernel.shape[1]!;
  const c = ctx.optionalConst(node, 2, 'C');
  let bias = null;
  if (c) {
    if (sizeOf(c.shape) !== 1 && !(sizeOf(c.shape) === units && c.shape[c.shape.length - 1] === units)) {
      throw new UnsupportedNode(node.source, `C of shape [${c.shape.join(', ')}] is not one bias per output`);
    }
    const beta = node.attrs.float('beta', 1);
    const values = sizeOf(c.shape) === 1 ? new Array<number>(units).fill(c.data[0]! * beta) : Array.from(c.data, (v) => v * beta);
    bias = ctx.weight(host('float', [units], values));
  }
  return slotValue(ctx.builder.add({ kind: 'dense', kernel: ctx.weight(kernel), bias }, [a.slot], node.source), false);
}

function matMul(node: OnnxNode, ctx: ImportContext): Value {
  const a = ctx.input(node, 0);
  if (a.kind !== 'slot') throw new UnsupportedNode(node.source, 'a constant left operand times a model value (only x·W with W known)');
  const b = ctx.constInput(node, 1, 'the right operand');
  if (b.shape.length !== 2 || ctx.rank(a) < 2) throw new UnsupportedNode(node.source, `product of shapes [${ctx.onnxShape(a).join(', ')}] and [${b.shape.join(', ')}] (only [..., K]·[K, N])`);
  // MatMul contracts ONNX's last axis, which for an image held NHWC is W, not the stored last axis.
  const slot = ctx.onnxOrdered(a, node.source);
  return slotValue(ctx.builder.add({ kind: 'dense', kernel: ctx.weight(b), bias: null }, [slot], node.source), false);
}

export const DENSE_RULES: Record<string, Rule> = { Gemm: gemm, MatMul: matMul };
