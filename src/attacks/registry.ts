/**
 * The public attack factories, each stamped with a recipe (its name and the options it was
 * given), so that evaluate can rebuild the very same attack inside a worker thread.
 */
import { fgsm as fgsmFactory } from './fgsm.js';
import { pgd as pgdFactory } from './pgd.js';
import { mifgsm as mifgsmFactory } from './mifgsm.js';
import { apgd as apgdFactory } from './apgd.js';
import { deepfool as deepfoolFactory } from './deepfool.js';
import { carliniWagner as carliniWagnerFactory } from './carlini-wagner.js';
import { lbfgs as lbfgsFactory } from './lbfgs.js';
import { square as squareFactory } from './square.js';
import { onePixel as onePixelFactory } from './one-pixel.js';
import { hopSkipJump as hopSkipJumpFactory } from './hop-skip-jump.js';
import { boundary as boundaryFactory } from './boundary.js';
import {
  contrastReduction as contrastReductionFactory,
  gaussianBlur as gaussianBlurFactory,
  gaussianNoise as gaussianNoiseFactory,
  saltAndPepper as saltAndPepperFactory,
  uniformNoise as uniformNoiseFactory,
} from './corruptions/index.js';
import { spatial as spatialFactory } from './spatial.js';
import { fab as fabFactory } from './fab.js';
import { autoAttack as autoAttackFactory } from './auto-attack.js';
import type { Attack, AttackRecipe } from './types.js';

const factories = new Map<string, (options?: never) => Attack>();

function withRecipe<F extends (options?: never) => Attack>(name: string, factory: F): F {
  factories.set(name, factory);
  const stamped = (options?: Parameters<F>[0]): Attack => {
    const attack = factory(options as never);
    return Object.freeze({ ...attack, recipe: { factory: name, options: options ?? {} } });
  };
  // Error messages name the factory ("call the factory: pgd()").
  Object.defineProperty(stamped, 'name', { value: factory.name });
  return stamped as F;
}

/** Rebuilds an attack from its recipe; the same factory and options give the same attack. */
export function attackFromRecipe(recipe: AttackRecipe): Attack {
  const factory = factories.get(recipe.factory);
  if (!factory) throw new Error(`unknown attack factory ${recipe.factory}`);
  return factory(recipe.options as never);
}

export const fgsm = withRecipe('fgsm', fgsmFactory);
export const pgd = withRecipe('pgd', pgdFactory);
export const mifgsm = withRecipe('mifgsm', mifgsmFactory);
export const apgd = withRecipe('apgd', apgdFactory);
export const deepfool = withRecipe('deepfool', deepfoolFactory);
export const carliniWagner = withRecipe('carliniWagner', carliniWagnerFactory);
export const lbfgs = withRecipe('lbfgs', lbfgsFactory);
export const square = withRecipe('square', squareFactory);
export const onePixel = withRecipe('onePixel', onePixelFactory);
export const hopSkipJump = withRecipe('hopSkipJump', hopSkipJumpFactory);
export const boundary = withRecipe('boundary', boundaryFactory);
export const gaussianNoise = withRecipe('gaussianNoise', gaussianNoiseFactory);
export const uniformNoise = withRecipe('uniformNoise', uniformNoiseFactory);
export const saltAndPepper = withRecipe('saltAndPepper', saltAndPepperFactory);
export const gaussianBlur = withRecipe('gaussianBlur', gaussianBlurFactory);
export const contrastReduction = withRecipe('contrastReduction', contrastReductionFactory);
export const spatial = withRecipe('spatial', spatialFactory);
export const fab = withRecipe('fab', fabFactory);
export const autoAttack = withRecipe('autoAttack', autoAttackFactory);
