/**
 * Option checks shared by the attack factories. Factories validate eagerly, so a bad option
 * fails where the attack is written, not in the middle of a run.
 */
import { RobustestError, show } from '../errors.js';
import { NORM_SYMBOL, type Norm } from '../norms.js';
import type { CriterionSpec, TargetSpec } from './types.js';

/** Rejects option names the factory does not know (a typo would otherwise be silently ignored). */
export function checkKnownOptions(options: unknown, known: readonly string[], attack: string): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new RobustestError('INVALID_OPTION', `${attack}() takes an options object.`, { expected: '{ …options }', received: show(options) });
  }
  const unknown = Object.keys(options).filter((k) => !known.includes(k) && (options as Record<string, unknown>)[k] !== undefined);
  if (unknown.length > 0) {
    throw new RobustestError('INVALID_OPTION', `${attack}(): unknown option ${unknown.map((k) => `\`${k}\``).join(', ')}.`, {
      expected: `options among ${known.map((k) => `\`${k}\``).join(', ')}`,
      received: unknown.join(', '),
    });
  }
}

export function checkInteger(value: unknown, name: string, attack: string, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new RobustestError('INVALID_OPTION', `${attack}(): \`${name}\` must be an integer ≥ ${min}.`, {
      expected: `an integer ≥ ${min}`,
      received: show(value),
    });
  }
  return value;
}

/** A finite number in [min, max] (`open` excludes the ends). */
export function checkNumber(value: unknown, name: string, attack: string, min: number, max = Infinity, open = false): number {
  const ok = typeof value === 'number' && Number.isFinite(value) && (open ? value > min && value < max : value >= min && value <= max);
  if (!ok) {
    const range = max === Infinity ? `${open ? '>' : '≥'} ${min}` : `in ${open ? '(' : '['}${min}, ${max}${open ? ')' : ']'}`;
    throw new RobustestError('INVALID_OPTION', `${attack}(): \`${name}\` must be a finite number ${range}.`, {
      expected: `a number ${range}`,
      received: show(value),
    });
  }
  return value as number;
}

export function checkBoolean(value: unknown, name: string, attack: string): boolean {
  if (typeof value !== 'boolean') {
    throw new RobustestError('INVALID_OPTION', `${attack}(): \`${name}\` must be true or false.`, { expected: 'a boolean', received: show(value) });
  }
  return value;
}

export function checkChoice<T extends string>(value: unknown, allowed: readonly T[], name: string, attack: string): T {
  if (!allowed.includes(value as T)) {
    throw new RobustestError('INVALID_OPTION', `${attack}(): unsupported \`${name}\`.`, {
      expected: allowed.map((n) => `'${n}'`).join(' | '),
      received: show(value),
    });
  }
  return value as T;
}

export function checkNorm<N extends Norm>(norm: unknown, allowed: readonly N[], attack: string): N {
  if (!allowed.includes(norm as N)) {
    throw new RobustestError('INVALID_OPTION', `${attack}(): unsupported norm.`, {
      expected: allowed.map((n) => `'${n}' (${NORM_SYMBOL[n]})`).join(' | '),
      received: show(norm),
    });
  }
  return norm as N;
}

/** Shape checks of a target; class ranges are checked at run time, when the model is known. */
export function checkTarget(target: unknown, attack: string): TargetSpec | undefined {
  if (target === undefined) return undefined;
  const isClass = (t: unknown) => typeof t === 'number' && Number.isInteger(t) && t >= 0;
  if (isClass(target) || target === 'random' || target === 'least-likely') return target as TargetSpec;
  if (Array.isArray(target)) {
    const bad = target.findIndex((t) => !isClass(t));
    if (bad < 0 && target.length > 0) return Object.freeze([...target]) as readonly number[];
    throw new RobustestError('INVALID_OPTION', `${attack}(): target[${bad < 0 ? 0 : bad}] is not a class index.`, {
      expected: 'a non-empty list of non-negative integers, one per sample',
      received: target.length === 0 ? '[]' : show(target[bad]),
    });
  }
  throw new RobustestError('INVALID_OPTION', `${attack}(): unknown target.`, {
    expected: "a class index, a list of class indices (one per sample), 'random' or 'least-likely'",
    received: show(target),
  });
}

export interface CriterionSupport {
  targeted: boolean;
  topK: boolean;
}

/**
 * Checks a criterion spec and that the attack's method can pursue it. Returns the spec in
 * canonical form; `k < classes` is checked at run time.
 */
export function checkCriterion(
  criterion: unknown,
  target: TargetSpec | undefined,
  support: CriterionSupport,
  attack: string,
): Exclude<CriterionSpec, 'misclassification'> | undefined {
  if (target !== undefined && !support.targeted) {
    throw new RobustestError('INVALID_OPTION', `${attack}() is untargeted by construction and takes no \`target\`.`, {
      expected: 'no target (criterion: misclassification)',
      received: `target ${show(target)}`,
    });
  }
  if (criterion === undefined) return target === undefined ? undefined : { kind: 'targeted' };
  const kind = criterion === 'misclassification' ? 'misclassification' : typeof criterion === 'object' && criterion !== null ? (criterion as { kind?: unknown }).kind : undefined;
  if (target !== undefined && kind !== 'targeted') {
    throw new RobustestError('INVALID_OPTION', `${attack}(): a target was given together with a non-targeted criterion.`, {
      expected: "either `target` or `criterion: { kind: 'top-k', k }`",
      received: `target ${show(target)} and criterion ${show(kind)}`,
    });
  }
  if (kind === 'misclassification') return { kind: 'misclassification' };
  if (kind === 'targeted') {
    if (!support.targeted) {
      throw new RobustestError('INVALID_OPTION', `${attack}() cannot pursue a targeted criterion.`, { expected: 'criterion misclassification', received: 'targeted' });
    }
    if (target === undefined) {
      throw new RobustestError('INVALID_OPTION', `${attack}(): a targeted criterion needs a \`target\` option.`, {
        expected: "target: number | number[] | 'random' | 'least-likely'",
        received: 'no target',
      });
    }
    return { kind: 'targeted' };
  }
  if (kind === 'top-k') {
    if (!support.topK) {
      throw new RobustestError('INVALID_OPTION', `${attack}() cannot pursue a top-k criterion: its method stops at the first decision boundary.`, {
        expected: support.targeted ? 'criterion misclassification, or a target' : 'criterion misclassification',
        received: 'top-k',
      });
    }
    const k = (criterion as { k?: unknown }).k;
    checkInteger(k, 'criterion.k', attack, 1);
    return { kind: 'top-k', k: k as number };
  }
  throw new RobustestError('INVALID_OPTION', `${attack}(): unknown criterion.`, {
    expected: "'misclassification' | { kind: 'misclassification' } | { kind: 'targeted' } | { kind: 'top-k', k }",
    received: show(criterion),
  });
}
