/** BatchNormalization at inference: over ONNX's channel axis 1, the stored last axis. */
import { UnsupportedNode } from '../../types.js';
import { slotValue, type ImportContext, type OnnxNode, type Rule, type Value } from '../context.js';

function batchNorm(node: OnnxNode, ctx: ImportContext): Value {
  if (node.attrs.int('training_mode', 0) !== 0) throw new UnsupportedNode(node.source, 'training_mode = 1 (batch statistics)');
  if (node.attrs.int('spatial', 1) !== 1) throw new UnsupportedNode(node.source, 'spatial = 0 (per-position statistics)');
  let x = ctx.slotInput(node, 0);
  const rank = ctx.rank(x);
  if (rank === 4) x = ctx.permuted(x, node.source);
  else if (rank !== 2) throw new UnsupportedNode(node.source, `input of rank ${rank}: only [N, C] and [N, C, H, W]`);
  const channels = ctx.onnxShape(x)[1]!;
  const param = (index: number, what: string) => {
    const t = ctx.constInput(node, index, what);
    if (t.data.length !== channels) throw new UnsupportedNode(node.source, `${what} holds ${t.data.length} values for ${channels} channels`);
    return ctx.weight(t, [channels]);
  };
  const op = {
    kind: 'batchNorm' as const,
    gamma: param(1, 'scale'),
    beta: param(2, 'bias B'),
    mean: param(3, 'input_mean'),
    variance: param(4, 'input_var'),
    epsilon: node.attrs.float('epsilon', 1e-5),
  };
  return slotValue(ctx.builder.add(op, [x.slot], node.source), x.permuted);
}

export const NORMALIZATION_RULES: Record<string, Rule> = { BatchNormalization: batchNorm };
