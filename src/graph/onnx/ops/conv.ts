/**
 * Conv: OIHW weights become HWIO filters; group == channels (one input channel per group) is a
 * depthwise convolution with filter [kh, kw, C, multiplier].
 */
import { UnsupportedNode } from '../../types.js';
import { slotValue, type ImportContext, type OnnxNode, type Rule, type Value } from '../context.js';
import { transposeHost } from '../host-tensor.js';
import { windowOf } from './window.js';

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
  throw new UnsupportedNode(node.source, `grouped convolution with ${group} groups of ${perGroup} channels (only 1 group, or one group per channel)`);
}

export const CONV_RULES: Record<string, Rule> = { Conv: conv };
