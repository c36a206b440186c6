/**
 * The record every robustness matcher leaves for the reporters (closing table, HTML report), built
 * in one place: the test's name and file, the requirement as written, and the curve, bounds,
 * backend and flags of an evaluate() report when there is one.
 */
import type { RobustnessReport } from '../src/evaluate.js';
import type { AssertionRecord } from '../src/report/table.js';
import type { MatcherContext, MatcherResult } from './context.js';
import { testFile, testName } from './location.js';

type Fields = Omit<AssertionRecord, 'test' | 'file' | 'required' | 'picture'> & { atLeast: number; picture?: string | null };

/** The matcher result's `meta`, with the record of this assertion. */
export function assertionMeta(ctx: MatcherContext, fields: Fields): NonNullable<MatcherResult['meta']> {
  // Vitest leaves isNot undefined without `.not`: compare booleans, never undefined.
  const isNot = ctx.isNot === true;
  const { atLeast, picture = null, ...rest } = fields;
  const record: AssertionRecord = {
    ...rest,
    test: testName(ctx),
    file: testFile(ctx),
    required: `${isNot ? '<' : '≥'} ${atLeast.toFixed(3)}`,
    picture,
  };
  return { robustest: { record, picture, hint: null } };
}

/** What a record carries from an evaluate() report: its curve, input range, backend and flags. */
export function fromReport(report: RobustnessReport): Pick<AssertionRecord, 'curve' | 'bounds' | 'backend' | 'flags'> {
  return {
    bounds: report.bounds,
    curve: { attacks: report.attacks, norm: report.norm, epsilons: report.epsilons, robustAccuracy: report.robustAccuracy },
    backend: report.backend,
    flags: (report.reliability ?? []).map((f) => f.message),
  };
}
