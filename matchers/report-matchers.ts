/**
 * Synchronous matchers on a RobustnessReport, so that a suite can attack once and assert many
 * times: `expect(report).toHaveRobustAccuracy({ atLeast, at })` and `expect(report).toBeRobust({ at })`
 * (robust accuracy at least the suite-wide `atLeast`, 1 unless configured).
 */
import { assertionMeta, fromReport } from './record.js';
import { checkAtLeast, robustestDefaults } from './config.js';
import { counterexamples, isBrokenAt } from '../src/report/counterexamples.js';
import type { RobustnessReport } from '../src/evaluate.js';
import { checkOptionsObject, requireReport, resolveAt } from './arguments.js';
import { hint, type MatcherContext, type MatcherResult } from './context.js';
import { counterexampleLines, expectedReceived, join, replayLine, reportSummary, summaryRows } from './messages.js';
import { ACCURACY_SLACK } from './robust-against.js';

export function toHaveRobustAccuracy(this: MatcherContext, received: unknown, options?: unknown): MatcherResult {
  const name = 'toHaveRobustAccuracy';
  const report = requireReport(received, `${name}({ atLeast, at })`);
  const o = checkOptionsObject(options, ['atLeast', 'at'], `${name}({ atLeast, at })`, ['atLeast']);
  const atLeast = checkAtLeast(o.atLeast, `${name}({ atLeast, at }): atLeast`);
  const at = resolveAt(report, o.at, `${name}({ atLeast, at })`);
  return verdict(this, name, '{ atLeast, at }', report, at, atLeast);
}

export function toBeRobust(this: MatcherContext, received: unknown, options?: unknown): MatcherResult {
  const name = 'toBeRobust';
  const report = requireReport(received, `${name}({ at })`);
  const o = checkOptionsObject(options, ['at'], `${name}({ at })`);
  const at = resolveAt(report, o.at, `${name}({ at })`);
  return verdict(this, name, '{ at }', report, at, robustestDefaults().atLeast);
}

function verdict(ctx: MatcherContext, name: string, expectedText: string, report: RobustnessReport, at: number | undefined, atLeast: number): MatcherResult {
  const isNot = ctx.isNot === true;
  const robust = report.samples.filter((s) => s.correct && !isBrokenAt(s, at)).length;
  const robustAccuracy = robust / report.count;
  const pass = robustAccuracy + ACCURACY_SLACK >= atLeast;
  const broken = counterexamples(report, null, at);
  const failing = pass === isNot;
  const message = (): string =>
    join(
      hint(ctx, name, 'report', expectedText),
      expectedReceived(ctx, 'robust accuracy', isNot ? '<' : '≥', atLeast, robustAccuracy),
      summaryRows(reportSummary(report, at, robust, broken.length)),
      counterexampleLines(broken, robustestDefaults().counterexamples, report.norm),
      replayLine(report.seed, report.backend, `evaluate(model, samples, { …, seed: ${report.seed} }) reproduces this report.`, report.engine),
    );
  return {
    pass,
    message,
    meta: assertionMeta(ctx, {
      matcher: name,
      model: report.model,
      attack: report.attacks.join(' + '),
      epsilon: at ?? null,
      cleanAccuracy: report.cleanAccuracy,
      robustAccuracy,
      atLeast,
      passed: !failing,
      seed: report.seed,
      ...fromReport(report),
    }),
  };
}
