/**
 * Conv: OIHW weights become HWIO filters; group == channels (one input channel per group) is a
 * depthwise convolution with filter [kh, kw, C, multiplier]; other groups are sliced apart.
 */
import { UnsupportedNode } from '../../types.js';
import { slotValue, type ImportContext, type OnnxNode, type Rule, type Value } from '../context.js';
import { transposeHost, type HostTensor } from '../host-tensor.js';
import { windowOf, type Window } from './window.js';

function conv(node: OnnxNode, ctx: ImportContext): Value {
  const x = ctx.permuted(ctx.slotInput(node, 0), node.source);
  const w = ctx.constInput(node, 1, 'weight W');
  const b = ctx.optionalConst(node, 2, 'bias B');
  if (w.shape.length !== 4) throw new UnsupportedNode(node.source, `weight of shape [${w.shape.join(', ')}]: only 2-D convolutions are supported`);
  const [out, perGroup, kh, kw] = w.shape as [number, number, number, number];
  const [h, wd, channels] = ctx.builder.shapeOf(x.slot) as [number, number, number];
  const window = windowOf(node, [h, wd], [kh, kw]);
  const group = node.attrs.int('group', 1);
  const bias = b ? ctx.weight(b, [out]) : null;
  if (perGroup * group !== channels) throw new UnsupportedNode(node.source, `weight for ${perGroup * group} input channels on an input with ${channels}`);
  const common = { bias, strides: window.strides, dilations: window.dilations, padding: window.padding };
  if (group === 1) {
    const filter = transposeHost(w, [2, 3, 1, 0]);
    return slotValue(ctx.builder.add({ kind: 'conv2d', filter: ctx.weight(filter), ...common }, [x.slot], node.source), true);
  }
  if (group === channels && out % channels === 0) {
    const multiplier = out / channels;
    // Output channel c·multiplier + m reads input channel c, as in the depthwise op.
    const filter = transposeHost({ ...w, shape: [channels, multiplier, kh, kw] }, [2, 3, 0, 1]);
    return slotValue(ctx.builder.add({ kind: 'depthwiseConv2d', filter: ctx.weight(filter), ...common }, [x.slot], node.source), true);
  }
  if (out % group !== 0) throw new UnsupportedNode(node.source, `${out} output channels in ${group} groups`);
  return grouped(node, ctx, x, w, b, group, window);
}

/** Groups as in ResNeXt: each group's channels sliced out, convolved on their own, concatenated. */
function grouped(node: OnnxNode, ctx: ImportContext, x: Value & { kind: 'slot' }, w: HostTensor, b: HostTensor | null, group: number, window: Window): Value {
  const [out, perGroup, kh, kw] = w.shape as [number, number, number, number];
  const [h, wd] = ctx.builder.shapeOf(x.slot) as [number, number, number];
  const outPer = out / group;
  const parts: number[] = [];
  for (let g = 0; g < group; g++) {
    const slice = ctx.builder.add({ kind: 'slice', begin: [0, 0, g * perGroup], size: [h, wd, perGroup] }, [x.slot], node.source);
    const filter = transposeHost({ ...w, shape: [outPer, perGroup, kh, kw], data: w.data.subarray(g * outPer * perGroup * kh * kw, (g + 1) * outPer * perGroup * kh * kw) }, [2, 3, 1, 0]);
    const bias = b ? ctx.weight({ ...b, shape: [outPer], data: b.data.subarray(g * outPer, (g + 1) * outPer) }) : null;
    const op = { kind: 'conv2d' as const, filter: ctx.weight(filter), bias, strides: window.strides, dilations: window.dilations, padding: window.padding };
    parts.push(ctx.builder.add(op, [slice], node.source));
  }
  return slotValue(ctx.builder.add({ kind: 'concat', axis: 2 }, parts, node.source), true);
}

export const CONV_RULES: Record<string, Rule> = { Conv: conv };
