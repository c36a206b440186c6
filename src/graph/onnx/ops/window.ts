/** The window geometry Conv and the pools share: kernel, strides, dilations, pads, auto_pad. */
import { explicitPads } from '../../shapes.js';
import { UnsupportedNode, type Padding } from '../../types.js';
import type { OnnxNode } from '../context.js';

export interface Window {
  readonly size: [number, number];
  readonly strides: [number, number];
  readonly dilations: [number, number];
  readonly padding: Padding;
}

function pair(node: OnnxNode, name: string, values: number[] | undefined, fallback: [number, number]): [number, number] {
  if (values === undefined) return fallback;
  if (values.length !== 2) throw new UnsupportedNode(node.source, `${name} [${values.join(', ')}]: only 2-D windows (NCHW images) are supported`);
  return [values[0]!, values[1]!];
}

/** `inHW` is the input's [H, W]; `size` comes from the weight when the node omits kernel_shape. */
export function windowOf(node: OnnxNode, inHW: readonly [number, number], size?: [number, number]): Window {
  const kernel = pair(node, 'kernel_shape', node.attrs.ints('kernel_shape'), size ?? [0, 0]);
  if (size && (kernel[0] !== size[0] || kernel[1] !== size[1])) throw new UnsupportedNode(node.source, `kernel_shape [${kernel.join(', ')}] differs from its weight's [${size.join(', ')}]`);
  if (kernel[0] < 1 || kernel[1] < 1) throw new UnsupportedNode(node.source, 'has no kernel_shape');
  const strides = pair(node, 'strides', node.attrs.ints('strides'), [1, 1]);
  const dilations = pair(node, 'dilations', node.attrs.ints('dilations'), [1, 1]);
  const autoPad = node.attrs.string('auto_pad', 'NOTSET');
  let padding: Padding;
  switch (autoPad) {
    case 'VALID':
      padding = 'valid';
      break;
    case 'SAME_UPPER':
      padding = 'same';
      break;
    case 'SAME_LOWER': {
      // The odd pixel goes before (top/left), the mirror of TensorFlow's SAME.
      const upper = explicitPads('same', inHW, kernel, strides, dilations);
      padding = [upper[1], upper[0], upper[3], upper[2]];
      break;
    }
    case 'NOTSET': {
      const pads = node.attrs.ints('pads') ?? [0, 0, 0, 0];
      if (pads.length !== 4) throw new UnsupportedNode(node.source, `pads [${pads.join(', ')}]: only 2-D windows are supported`);
      if (pads.some((p) => p < 0)) throw new UnsupportedNode(node.source, `negative pads [${pads.join(', ')}]`);
      // ONNX orders pads [top, left, bottom, right]; the graph [top, bottom, left, right].
      padding = pads.every((p) => p === 0) ? 'valid' : [pads[0]!, pads[2]!, pads[1]!, pads[3]!];
      break;
    }
    default:
      throw new UnsupportedNode(node.source, `auto_pad ${JSON.stringify(autoPad)}`);
  }
  return { size: kernel, strides, dilations, padding };
}
