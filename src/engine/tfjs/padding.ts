/** The graph's Padding in the form tfjs's convolution and pooling ops take. */
import type { Padding } from '../../graph/types.js';

type ExplicitPadding = [[number, number], [number, number], [number, number], [number, number]];

export type TfPadding = 'valid' | 'same' | ExplicitPadding;

export function tfPadding(padding: Padding): TfPadding {
  if (typeof padding === 'string') return padding;
  const [top, bottom, left, right] = padding;
  if (top === 0 && bottom === 0 && left === 0 && right === 0) return 'valid';
  return [
    [0, 0],
    [top, bottom],
    [left, right],
    [0, 0],
  ];
}
