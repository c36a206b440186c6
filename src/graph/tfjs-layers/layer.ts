/** The parts of a tfjs-layers Layer the importer reads (structural, so any copy of tfjs-layers fits). */
import type * as tf from '@tensorflow/tfjs-core';

export interface LayerLike {
  readonly name: string;
  getClassName(): string;
  apply(inputs: tf.Tensor | tf.Tensor[], kwargs?: Record<string, unknown>): tf.Tensor | tf.Tensor[];
  readonly [key: string]: unknown;
}

/** A tfjs-layers LayerVariable. */
interface VariableLike {
  read(): tf.Tensor;
}

export function variable(layer: LayerLike, key: string): tf.Tensor | null {
  const v = layer[key] as VariableLike | null | undefined;
  return v && typeof v.read === 'function' ? v.read() : null;
}

export function pair(value: unknown, fallback: number): [number, number] {
  if (Array.isArray(value)) return [Number(value[0] ?? fallback), Number(value[1] ?? value[0] ?? fallback)];
  if (typeof value === 'number') return [value, value];
  return [fallback, fallback];
}
