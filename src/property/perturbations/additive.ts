/** Additive noise: x + magnitude · pattern, clipped into the bounds. */
import * as tf from '@tensorflow/tfjs-core';
import { perShape, product } from './patterns.js';
import { definePerturbation, patternTensor, type Perturbation, type PerturbationKind } from './types.js';

export function additiveNoise(
  kind: PerturbationKind,
  params: Record<string, number>,
  scale: number,
  description: string,
  pattern: (seed: number, size: number) => Float32Array,
  seed: number,
): Perturbation {
  const of = perShape((shape) => pattern(seed, product(shape)));
  return definePerturbation({
    kind,
    params,
    isIdentity: scale === 0,
    description,
    apply: (x, [low, high]) => tf.clipByValue(tf.add(x, tf.mul(patternTensor(x, of(x.shape.slice(1))), scale)), low, high),
  });
}
