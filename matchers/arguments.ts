/**
 * Argument checks for the matchers. A wrong argument is a mistake in the test, not a verdict on
 * the model, so it throws (with or without `.not`) instead of failing or passing the assertion.
 */
import { RobustestError, show } from '../src/errors.js';
import type { Attack } from '../src/attacks/types.js';
import type { RobustnessReport } from '../src/evaluate.js';
import type { Samples } from '../src/samples.js';
import { isRobustnessReport } from '../src/report/serializer.js';
import { checkWorkers, type Workers } from '../src/engine/shards/policy.js';
import { checkAtLeast, checkBatchSize, checkSeed } from './config.js';

export interface RobustAgainstArguments {
  attack: Attack;
  epsilon: number | undefined;
  on: Samples;
  atLeast: number | undefined;
  seed: number | undefined;
  batchSize: number | undefined;
  workers: Workers | undefined;
}

const OPTION_KEYS = ['on', 'atLeast', 'seed', 'batchSize', 'workers'] as const;

export function isAttack(value: unknown): value is Attack {
  const a = value as Attack;
  return typeof a === 'object' && a !== null && typeof a.run === 'function' && typeof a.describe === 'function' && (a.kind === 'fixed-epsilon' || a.kind === 'minimization');
}

/** toBeRobustAgainst(attack, epsilon, options) or, for minimization attacks, (attack, options). */
export function parseRobustAgainst(attack: unknown, second: unknown, third: unknown): RobustAgainstArguments {
  const where = 'toBeRobustAgainst(attack, ε, { on, atLeast })';
  if (!isAttack(attack)) {
    throw new RobustestError('INVALID_OPTION', `${where}: the first argument must be an attack.`, {
      expected: 'an Attack, e.g. fgsm() or pgd({ steps: 40 })',
      received: typeof attack === 'function' ? `${show(attack)} (call the factory: ${attack.name || 'attack'}())` : show(attack),
    });
  }
  const epsilonGiven = typeof second !== 'object' || second === null;
  const epsilon = epsilonGiven ? second : undefined;
  const options = epsilonGiven ? third : second;
  if (epsilon === undefined) {
    if (attack.kind === 'fixed-epsilon') {
      throw new RobustestError('INVALID_EPSILON', `${where}: ${attack.name} is a fixed-ε attack and needs an ε.`, {
        expected: `toBeRobustAgainst(${attack.name.toLowerCase()}(), 0.1, { on })`,
        received: 'no ε',
      });
    }
  } else if (typeof epsilon !== 'number' || !Number.isFinite(epsilon) || epsilon < 0) {
    throw new RobustestError('INVALID_EPSILON', `${where}: ε must be a finite number ≥ 0 in the attack's norm.`, {
      expected: 'a finite number ≥ 0, e.g. 0.1',
      received: show(epsilon),
    });
  }
  if (options === undefined || options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new RobustestError('INVALID_OPTION', `${where}: the options must say which samples to attack.`, {
      expected: '{ on: { inputs, labels }, atLeast?, seed?, batchSize?, workers? }',
      received: show(options),
    });
  }
  const o = options as Record<string, unknown>;
  const unknown = Object.keys(o).filter((k) => !(OPTION_KEYS as readonly string[]).includes(k));
  if (unknown.length > 0) {
    throw new RobustestError('INVALID_OPTION', `${where}: unknown option ${unknown.map((k) => `\`${k}\``).join(', ')}.`, {
      expected: OPTION_KEYS.join(', '),
      received: unknown.join(', '),
    });
  }
  if (o.on === undefined) {
    throw new RobustestError('INVALID_OPTION', `${where}: \`on\` (the samples to attack) is required.`, {
      expected: 'on: { inputs, labels }',
      received: 'no `on`',
    });
  }
  return {
    attack,
    epsilon: epsilon as number | undefined,
    on: o.on as Samples,
    atLeast: o.atLeast === undefined ? undefined : checkAtLeast(o.atLeast, `${where}: atLeast`),
    seed: o.seed === undefined ? undefined : checkSeed(o.seed, `${where}: seed`),
    batchSize: o.batchSize === undefined ? undefined : checkBatchSize(o.batchSize, `${where}: batchSize`),
    workers: o.workers === undefined ? undefined : checkWorkers(o.workers, `${where}: workers`),
  };
}

export function requireReport(received: unknown, matcher: string): RobustnessReport {
  if (!isRobustnessReport(received)) {
    throw new RobustestError('INVALID_OPTION', `${matcher} checks a RobustnessReport.`, {
      expected: 'the result of `await evaluate(model, samples, { attack, epsilons })`',
      received: received instanceof Promise ? 'a Promise (await evaluate(…) first)' : show(received),
    });
  }
  return received;
}

/** The ε of `report` that `at` names; `at` may be omitted when the report has exactly one. */
export function resolveAt(report: RobustnessReport, at: unknown, matcher: string): number | undefined {
  if (at === undefined) {
    if (report.epsilons.length === 1) return report.epsilons[0];
    if (report.epsilons.length === 0) return undefined;
    throw new RobustestError('INVALID_EPSILON', `${matcher}: the report measures several ε; say which with \`at\`.`, {
      expected: `at: one of ${report.epsilons.join(', ')}`,
      received: 'no `at`',
    });
  }
  const match = typeof at === 'number' ? report.epsilons.find((e) => Math.abs(e - at) <= 1e-9 * Math.max(1, Math.abs(at))) : undefined;
  if (match === undefined) {
    throw new RobustestError('INVALID_EPSILON', `${matcher}: \`at\` must be one of the ε the report measured.`, {
      expected: report.epsilons.length > 0 ? `one of ${report.epsilons.join(', ')}` : 'no `at` (this report has no ε)',
      received: show(at),
    });
  }
  return match;
}

export function checkOptionsObject(options: unknown, known: readonly string[], matcher: string, required: readonly string[] = []): Record<string, unknown> {
  if (options === undefined && required.length === 0) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new RobustestError('INVALID_OPTION', `${matcher} takes an options object.`, { expected: `{ ${known.join(', ')} }`, received: show(options) });
  }
  const o = options as Record<string, unknown>;
  const unknown = Object.keys(o).filter((k) => !known.includes(k));
  if (unknown.length > 0) {
    throw new RobustestError('INVALID_OPTION', `${matcher}: unknown option ${unknown.map((k) => `\`${k}\``).join(', ')}.`, {
      expected: known.join(', '),
      received: unknown.join(', '),
    });
  }
  const missing = required.filter((k) => o[k] === undefined);
  if (missing.length > 0) {
    throw new RobustestError('INVALID_OPTION', `${matcher}: ${missing.map((k) => `\`${k}\``).join(', ')} is required.`, {
      expected: `{ ${known.join(', ')} }`,
      received: `{ ${Object.keys(o).join(', ')} }`,
    });
  }
  return o;
}
