/** Every ONNX op with a graph rule, by op type. */
import type { Rule } from '../context.js';
import { ACTIVATION_RULES } from './activation.js';
import { CONV_RULES } from './conv.js';
import { DENSE_RULES } from './dense.js';
import { ELEMENTWISE_RULES } from './elementwise.js';
import { NORMALIZATION_RULES } from './normalization.js';
import { POOLING_RULES } from './pooling.js';
import { STRUCTURE_RULES } from './structure.js';

export const RULES: Readonly<Record<string, Rule>> = {
  ...ACTIVATION_RULES,
  ...CONV_RULES,
  ...DENSE_RULES,
  ...ELEMENTWISE_RULES,
  ...NORMALIZATION_RULES,
  ...POOLING_RULES,
  ...STRUCTURE_RULES,
};
