/**
 * Contrast reduction as a severity search: x + r·(m − x), the blend towards the middle m of
 * the bounds, r in (0, 1] (Foolbox's contrast-reduction attacks with target 0.5). Reported
 * norm: L2.
 */
import type { Attack } from '../types.js';
import { corruptionAttack, type CorruptionOptions } from './search.js';

export function contrastReduction(options: CorruptionOptions = {}): Attack {
  return corruptionAttack(
    {
      name: 'ContrastReduction',
      severity: 'r',
      norm: 'l2',
      maxSeverity: () => 1,
      prepare({ x, bounds: [low, high] }) {
        const middle = (low + high) / 2;
        return (r) => {
          const out = new Float32Array(x.length);
          for (let j = 0; j < x.length; j++) out[j] = x[j]! + r * (middle - x[j]!);
          return out;
        };
      },
    },
    'contrastReduction',
    options,
  );
}
