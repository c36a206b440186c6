import type { Network } from './types.js';

/** Compiles a LayersModel into the input-gradient engine; null when it cannot. */
export function compileLayersNetwork(_model: unknown): Network | null {
  return null;
}
