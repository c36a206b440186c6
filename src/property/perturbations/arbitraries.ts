/**
 * The fast-check building blocks shared by every family: magnitudes on a grid that shrinks
 * toward the identity, pattern seeds that never shrink, argument checks, and the description a
 * matcher prints for an arbitrary.
 *
 * Magnitudes are integers mapped onto a grid of GRID_STEPS steps per side of the identity. fast-
 * check shrinks integers by bisection, so a counterexample shrinks to within 1/GRID_STEPS of the
 * weakest magnitude that still breaks the model in a few dozen model calls, and the values stay
 * exactly reproducible on every platform.
 */
import * as fc from 'fast-check';
import { RobustestError, show } from '../../errors.js';
import type { Perturbation } from './types.js';

export const GRID_STEPS = 1000;

/**
 * Numbers in [low, high] that shrink toward `identity` (or the end of the range nearest to it),
 * GRID_STEPS grid steps on each side.
 */
export function magnitude(low: number, high: number, identity: number): fc.Arbitrary<number> {
  const target = Math.min(high, Math.max(low, identity));
  const below = target - low;
  const above = high - target;
  if (below === 0 && above === 0) return fc.constant(target);
  return fc
    .integer({ min: below > 0 ? -GRID_STEPS : 0, max: above > 0 ? GRID_STEPS : 0 })
    .map((step) => {
      if (step === 0) return target;
      if (step === -GRID_STEPS) return low;
      if (step === GRID_STEPS) return high;
      return step < 0 ? target + (below * step) / GRID_STEPS : target + (above * step) / GRID_STEPS;
    });
}

/**
 * The seed of a value's random pattern. It does not shrink: the pattern stays fixed while the
 * magnitude shrinks, so the reported counterexample is the weakest version of the pattern that
 * broke the model.
 */
export const patternSeed: fc.Arbitrary<number> = fc.noShrink(fc.integer({ min: 0, max: 0x7fffffff }));

const descriptions = new WeakMap<fc.Arbitrary<unknown>, string>();

/** Attaches the description a matcher prints for this arbitrary. */
export function described<T>(arbitrary: fc.Arbitrary<T>, text: string): fc.Arbitrary<T> {
  descriptions.set(arbitrary as fc.Arbitrary<unknown>, text);
  return arbitrary;
}

export function describeArbitrary(arbitrary: fc.Arbitrary<unknown>): string {
  return descriptions.get(arbitrary) ?? 'a custom perturbation arbitrary';
}

export function isArbitrary(value: unknown): value is fc.Arbitrary<unknown> {
  if (value instanceof fc.Arbitrary) return true;
  const candidate = value as Partial<fc.Arbitrary<unknown>> | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.generate === 'function' &&
    typeof candidate.shrink === 'function' &&
    typeof candidate.canShrinkWithoutContext === 'function'
  );
}

/** A budget: a finite number ≥ 0 (and ≤ max when given). */
export function checkBudget(value: unknown, where: string, what: string, max = Infinity): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > max) {
    throw new RobustestError('INVALID_OPTION', `${where}: ${what} must be a finite number ≥ 0${max < Infinity ? ` and ≤ ${max}` : ''}.`, {
      expected: max < Infinity ? `a number in [0, ${max}]` : 'a finite number ≥ 0',
      received: show(value),
    });
  }
  return value + 0; // turns -0 into 0 so descriptions never read "-0"
}

export function checkCount(value: unknown, where: string, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new RobustestError('INVALID_OPTION', `${where}: ${what} must be an integer ≥ 0.`, {
      expected: 'an integer ≥ 0',
      received: show(value),
    });
  }
  return value;
}

export function checkSignedNumber(value: unknown, where: string, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new RobustestError('INVALID_OPTION', `${where}: ${what} must be a finite number.`, {
      expected: 'a finite number',
      received: show(value),
    });
  }
  return value + 0;
}

export function checkSignedInteger(value: unknown, where: string, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new RobustestError('INVALID_OPTION', `${where}: ${what} must be an integer.`, {
      expected: 'an integer',
      received: show(value),
    });
  }
  return value + 0;
}

export function checkSeed(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0x7fffffff) {
    throw new RobustestError('INVALID_OPTION', `${where}: the pattern seed must be an integer in [0, 2³¹ − 1].`, {
      expected: 'an integer in [0, 2147483647]',
      received: show(value),
    });
  }
  return value;
}

/** Accepts a perturbation arbitrary, or a fixed value that then never changes. */
export function asArbitrary(item: unknown, where: string, isValue: (v: unknown) => v is Perturbation): fc.Arbitrary<Perturbation> {
  if (isValue(item)) return fc.constant(item);
  if (isArbitrary(item)) return item as fc.Arbitrary<Perturbation>;
  throw new RobustestError('INVALID_OPTION', `${where} takes perturbations.`, {
    expected: 'a perturbation arbitrary such as perturbations.linf(0.1), or a fixed value such as transforms.translate(1)',
    received: show(item),
  });
}
