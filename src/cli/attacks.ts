/**
 * Attack names on the command line (`--attacks autoattack,pgd,square`) and the attacks they
 * build, with the norm from `--norm`. Names are matched without case, dashes or underscores.
 */
import { RobustestError } from '../errors.js';
import type { Attack } from '../attacks/types.js';
import type { Norm } from '../norms.js';
import * as registry from '../attacks/registry.js';

type Factory = (norm: Norm) => Attack;

const withNorm =
  (make: (options: { norm: never }) => Attack): Factory =>
  (norm) =>
    make({ norm: norm as never });

/** Names accepted by --attacks; the attacks take the norm where they have one. */
export const CLI_ATTACKS: Record<string, Factory> = {
  autoattack: withNorm(registry.autoAttack),
  pgd: withNorm(registry.pgd),
  fgsm: withNorm(registry.fgsm),
  apgd: withNorm(registry.apgd),
  mifgsm: withNorm(registry.mifgsm),
  fab: withNorm(registry.fab),
  deepfool: withNorm(registry.deepfool),
  square: withNorm(registry.square),
  hopskipjump: withNorm(registry.hopSkipJump),
  cw: () => registry.carliniWagner(),
  lbfgs: () => registry.lbfgs(),
  onepixel: () => registry.onePixel(),
  boundary: () => registry.boundary(),
  spatial: () => registry.spatial(),
  gaussiannoise: () => registry.gaussianNoise(),
  uniformnoise: () => registry.uniformNoise(),
  saltandpepper: () => registry.saltAndPepper(),
  gaussianblur: () => registry.gaussianBlur(),
  contrastreduction: () => registry.contrastReduction(),
};

export interface NamedAttack {
  /** As typed on the command line. */
  name: string;
  attack: Attack;
}

export function parseAttacks(list: string, norm: Norm): NamedAttack[] {
  const names = list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (names.length === 0) throw new RobustestError('INVALID_OPTION', '--attacks names no attack.', { expected: `a comma-separated list of ${Object.keys(CLI_ATTACKS).join(', ')}`, received: JSON.stringify(list) });
  return names.map((name) => {
    const make = CLI_ATTACKS[name.toLowerCase().replace(/[-_]/g, '')];
    if (!make) throw new RobustestError('INVALID_OPTION', `--attacks: unknown attack "${name}".`, { expected: Object.keys(CLI_ATTACKS).join(', '), received: name });
    return { name, attack: make(norm) };
  });
}
