/**
 * Composition: the steps applied in order, each clipping into the bounds. Each component
 * shrinks on its own, so the counterexample is weakest in every step that does not matter.
 */
import * as fc from 'fast-check';
import { RobustestError, show } from '../../errors.js';
import { asArbitrary, describeArbitrary, described } from './arbitraries.js';
import { definePerturbation, isPerturbation, type Perturbation } from './types.js';

export function composeValues(...steps: Perturbation[]): Perturbation {
  steps.forEach((step, i) => {
    if (!isPerturbation(step)) {
      throw new RobustestError('INVALID_OPTION', `transforms.compose(): step ${i} is not a fixed perturbation.`, {
        expected: 'perturbation values such as transforms.translate(1) (use perturbations.compose() for arbitraries)',
        received: show(step),
      });
    }
  });
  if (steps.length === 0) {
    throw new RobustestError('INVALID_OPTION', 'compose() needs at least one step.', { expected: 'one or more perturbations', received: 'none' });
  }
  const params: Record<string, number | string> = {};
  steps.forEach((step, i) => {
    for (const [name, value] of Object.entries(step.params)) params[`${i}.${step.kind}.${name}`] = value;
  });
  return definePerturbation({
    kind: 'compose',
    params,
    parts: steps,
    isIdentity: steps.every((step) => step.isIdentity),
    description: steps.map((step) => step.describe()).join(', then '),
    rank: steps.some((step) => step.kind === 'rotation' || step.kind === 'translation' || step.kind === 'blur') ? 4 : undefined,
    apply: (x, bounds) => steps.reduce((current, step) => step.apply(current, bounds), x),
  });
}

/** Perturbations applied one after the other; accepts arbitraries and fixed values. */
export function compose(...items: (fc.Arbitrary<Perturbation> | Perturbation)[]): fc.Arbitrary<Perturbation> {
  if (items.length === 0) {
    throw new RobustestError('INVALID_OPTION', 'perturbations.compose() needs at least one perturbation.', {
      expected: 'one or more perturbation arbitraries or values',
      received: 'none',
    });
  }
  const arbitraries = items.map((item, i) => asArbitrary(item, `perturbations.compose(): argument ${i}`, isPerturbation));
  const text = items.map((item, i) => (isPerturbation(item) ? item.describe() : describeArbitrary(arbitraries[i]!))).join(', then ');
  return described(fc.tuple(...arbitraries).map((steps) => composeValues(...steps)), text);
}
