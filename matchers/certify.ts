/**
 * Certificate matchers.
 *
 *   await expect(model).toBeCertifiedRobust(ε, { on, atLeast, method, norm, timeBudget })
 *     passes when the certified accuracy (a sound lower bound of robust accuracy) at ε is at
 *     least `atLeast`. When some correctly classified samples are not certified, an attack (PGD
 *     in the same norm unless `attack` is given) runs on them so that the message can say which
 *     are really broken and which are only unproven.
 *
 *   await expect(smoothedModel).toHaveCertifiedRadius(r, { on, atLeast, n, alpha })
 *     passes when the share of samples the smoothed classifier gets right with a certified L2
 *     radius of at least r is at least `atLeast`.
 */
import { assertionMeta } from './record.js';
import { RobustestError, show } from '../src/errors.js';
import { pgd } from '../src/attacks/registry.js';
import type { Attack } from '../src/attacks/types.js';
import { certify } from '../src/certify/certify.js';
import { falsify, type VerificationReport } from '../src/certify/verify.js';
import { ABSTAIN, certifySmoothed, isSmoothed } from '../src/certify/smoothing.js';
import type { CertifyMethod, CertificationReport } from '../src/certify/report.js';
import type { CertifyNorm } from '../src/certify/region.js';
import type { ModelLike } from '../src/model/classifier.js';
import type { Samples } from '../src/samples.js';
import { NORM_SYMBOL } from '../src/norms.js';
import { isAttack } from './arguments.js';
import { checkAtLeast, robustestDefaults } from './config.js';
import { hint, type MatcherContext, type MatcherResult } from './context.js';
import { expectedReceived, fixed3, join, replayLine, table } from './messages.js';
import { certifiedFixPathLines } from '../src/defend/fix-path.js';

const SLACK = 1e-9;
/** Uncertified samples listed in a message. */
const LISTED = 10;

function options(value: unknown, where: string, keys: readonly string[]): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new RobustestError('INVALID_OPTION', `${where}: the options must say which samples to use.`, { expected: `{ on: { inputs, labels }, ${keys.filter((k) => k !== 'on').join('?, ')}? }`, received: show(value) });
  }
  const o = value as Record<string, unknown>;
  const unknown = Object.keys(o).filter((k) => !keys.includes(k));
  if (unknown.length > 0) throw new RobustestError('INVALID_OPTION', `${where}: unknown option ${unknown.map((k) => `\`${k}\``).join(', ')}.`, { expected: keys.map((k) => `\`${k}\``).join(', '), received: unknown.join(', ') });
  if (o.on === undefined) throw new RobustestError('INVALID_OPTION', `${where}: \`on\` (the samples) is required.`, { expected: 'on: { inputs, labels }', received: 'no `on`' });
  return o;
}

function nonNegative(value: unknown, what: string, where: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new RobustestError('INVALID_EPSILON', `${where}: ${what} must be a finite number ≥ 0.`, { expected: 'a finite number ≥ 0', received: show(value) });
  return value;
}

const margin = (v: number) => (Number.isFinite(v) ? (Math.abs(v) >= 0.001 ? v.toFixed(3) : v.toExponential(2)) : String(v));

function uncertifiedLines(certified: CertificationReport, verified: VerificationReport | null): string[] {
  const rows = certified.samples.filter((s) => !s.certified[0]);
  if (rows.length === 0) return [];
  const lines = rows.slice(0, LISTED).map((s) => {
    const verdict = verified?.samples[s.index];
    const how =
      s.prediction !== s.label
        ? `misclassified as ${s.prediction}`
        : verdict?.verdicts[0] === 'falsified'
          ? `falsified by ${verdict.falsifiedBy}`
          : verified
            ? 'not falsified either (unknown)'
            : 'no attack run';
    return `  #${s.index}  class ${s.label}  best margin bound ${margin(s.margins[0]!)}  ${how}`;
  });
  if (rows.length > LISTED) lines.push(`  … and ${rows.length - LISTED} more`);
  return [`Not certified (${rows.length}):`, ...lines];
}

/** Said when 'auto' ran out of its time budget before trying every method where one was needed. */
function budgetNote(report: CertificationReport): string {
  return report.budget?.exhausted ? `; the ${report.budget.seconds} s time budget ran out before the stronger methods were tried everywhere (raise timeBudget)` : '';
}

export async function toBeCertifiedRobust(this: MatcherContext, received: unknown, epsilon: unknown, opts?: unknown): Promise<MatcherResult> {
  const where = 'toBeCertifiedRobust(ε, { on, atLeast })';
  const eps = nonNegative(epsilon, 'ε', where);
  const o = options(opts, where, ['on', 'atLeast', 'method', 'norm', 'attack', 'seed', 'timeBudget']);
  const defaults = robustestDefaults();
  const atLeast = o.atLeast === undefined ? defaults.atLeast : checkAtLeast(o.atLeast, `${where}: atLeast`);
  const seed = o.seed === undefined ? defaults.seed : (o.seed as number);
  const norm = (o.norm ?? 'linf') as CertifyNorm;
  if (o.attack !== undefined && !isAttack(o.attack)) throw new RobustestError('INVALID_OPTION', `${where}: attack must be an attack.`, { expected: 'e.g. pgd({ steps: 40 })', received: show(o.attack) });
  const certified = await certify(received as ModelLike, o.on as Samples, {
    epsilons: [eps],
    norm,
    method: (o.method ?? 'auto') as CertifyMethod,
    ...(o.timeBudget === undefined ? {} : { timeBudget: o.timeBudget as number }),
  });
  const isNot = this.isNot === true;
  const accuracy = certified.certifiedAccuracy[0]!;
  const pass = accuracy + SLACK >= atLeast;
  const unproven = certified.samples.some((s) => s.prediction === s.label && !s.certified[0]);
  const attack = (o.attack as Attack | undefined) ?? pgd({ norm, steps: 40, randomStart: true });
  // The attack only says which uncertified samples are really broken: run it when there are some.
  const verified = unproven ? await falsify(received as ModelLike, o.on as Samples, certified, attack, seed) : null;
  const [low, high] = verified ? verified.robustAccuracy[0]! : [accuracy, accuracy];
  const methods = [...new Set(certified.samples.map((s) => s.certifiedBy[0]).filter((m) => m !== null))];
  const body = (): string =>
    join(
      hint(this, 'toBeCertifiedRobust', 'model', 'ε, options'),
      expectedReceived(this, 'certified accuracy', isNot ? '<' : '≥', atLeast, accuracy),
      table([
        ['Certificate', `${certified.method}${methods.length > 0 ? ` (certified by ${methods.join(', ')})` : ''}${budgetNote(certified)}`],
        ['ε', `${eps} (${NORM_SYMBOL[norm]}, within the classifier's bounds)`],
        ['Samples', `${certified.count}, ${Math.round(certified.cleanAccuracy * certified.count)} classified correctly`],
        ['Robust accuracy', verified ? `between ${fixed3(low)} (certified) and ${fixed3(high)} (not falsified by ${verified.attack})` : `${fixed3(low)} (every correct sample certified)`],
      ]),
      uncertifiedLines(certified, verified),
      verified ? replayLine(seed, certified.backend, `the attack replays with { seed: ${seed} }; the bounds are deterministic.`) : null,
      !pass && !isNot ? certifiedFixPathLines(eps, norm) : null,
    );
  return {
    pass,
    message: body,
    meta: assertionMeta(this, {
      matcher: 'toBeCertifiedRobust',
      model: (received as { name?: string })?.name ?? 'model',
      attack: `certificate: ${certified.method}`,
      epsilon: eps,
      cleanAccuracy: certified.cleanAccuracy,
      robustAccuracy: accuracy,
      atLeast,
      passed: pass !== isNot,
      seed,
      measure: 'certified',
      backend: certified.backend,
    }),
  };
}

export async function toHaveCertifiedRadius(this: MatcherContext, received: unknown, radius: unknown, opts?: unknown): Promise<MatcherResult> {
  const where = 'toHaveCertifiedRadius(r, { on, atLeast, n, alpha })';
  if (!isSmoothed(received)) throw new RobustestError('INVALID_MODEL', `${where}: the received value must be a smoothed classifier.`, { expected: 'expect(smoothed(model, { sigma }))', received: show(received) });
  const r = nonNegative(radius, 'the radius', where);
  const o = options(opts, where, ['on', 'atLeast', 'n', 'n0', 'alpha', 'batchSize', 'seed']);
  const defaults = robustestDefaults();
  const atLeast = o.atLeast === undefined ? defaults.atLeast : checkAtLeast(o.atLeast, `${where}: atLeast`);
  const seed = o.seed === undefined ? defaults.seed : (o.seed as number);
  const report = await certifySmoothed(received, o.on as Samples, {
    radii: [r],
    seed,
    ...(o.n === undefined ? {} : { n: o.n as number }),
    ...(o.n0 === undefined ? {} : { n0: o.n0 as number }),
    ...(o.alpha === undefined ? {} : { alpha: o.alpha as number }),
    ...(o.batchSize === undefined ? {} : { batchSize: o.batchSize as number }),
  });
  const isNot = this.isNot === true;
  const accuracy = report.certifiedAccuracy[0]!;
  const pass = accuracy + SLACK >= atLeast;
  const short = report.samples.filter((s) => !(s.correct && s.radius >= r));
  const body = (): string =>
    join(
      hint(this, 'toHaveCertifiedRadius', 'smoothedModel', 'r, options'),
      expectedReceived(this, `certified accuracy at L2 radius ${r}`, isNot ? '<' : '≥', atLeast, accuracy),
      table([
        ['Smoothing', `σ ${report.sigma}, n0 ${report.n0}, n ${report.n}, α ${report.alpha} (each radius holds with probability ≥ ${1 - report.alpha})`],
        ['Samples', String(report.count)],
      ]),
      short.length === 0
        ? null
        : [
            `Below radius ${r} (${short.length}):`,
            ...short.slice(0, LISTED).map((s) =>
              s.prediction === ABSTAIN
                ? `  #${s.index}  class ${s.label}  abstained (p lower bound ${fixed3(s.pLower)} < 0.5)`
                : `  #${s.index}  class ${s.label}  predicted ${s.prediction}  radius ${fixed3(s.radius)}  (p lower bound ${fixed3(s.pLower)})`,
            ),
            ...(short.length > LISTED ? [`  … and ${short.length - LISTED} more`] : []),
          ],
      replayLine(seed, report.backend, `the noise replays with { seed: ${seed} }.`),
    );
  return {
    pass,
    message: body,
    meta: assertionMeta(this, {
      matcher: 'toHaveCertifiedRadius',
      model: received.base.name,
      attack: `randomized smoothing σ ${report.sigma}`,
      epsilon: r,
      cleanAccuracy: report.samples.filter((s) => s.correct).length / report.count,
      robustAccuracy: accuracy,
      atLeast,
      passed: pass !== isNot,
      seed,
      measure: 'certified',
      backend: report.backend,
    }),
  };
}
