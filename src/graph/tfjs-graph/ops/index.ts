/** Every op the importer turns into graph nodes when it depends on the model's input. */
import type { Context } from '../context.js';
import type { Value } from '../values.js';
import { CONVOLUTION } from './convolution.js';
import { ELEMENTWISE } from './elementwise.js';
import { LAYOUT } from './layout.js';
import { MATMUL } from './matmul.js';
import { NORMALIZATION } from './normalization.js';
import { POOLING } from './pooling.js';

export type Converter = (ctx: Context) => Value | Value[];

export const CONVERTERS: Record<string, Converter> = {
  ...CONVOLUTION,
  ...MATMUL,
  ...ELEMENTWISE,
  ...POOLING,
  ...NORMALIZATION,
  ...LAYOUT,
};
