/**
 * `robustest/matchers`: the robustness matchers as plain functions, for `expect.extend` in any
 * Jest-compatible runner, plus their defaults, the report serializer and the types. The entry
 * points robustest/vitest, robustest/jest and robustest/jest-globals register `robustestMatchers`.
 */
import { toBeRobustAgainst } from './robust-against.js';
import { toBeRobust, toHaveRobustAccuracy } from './report-matchers.js';
import { toMatchRobustnessSnapshot } from './snapshot.js';
import { toBeInvariantUnder, toBeRobustUnder } from './property.js';
import { toBeCertifiedRobust, toHaveCertifiedRadius } from './certify.js';
import { toDetect } from './detect.js';
import type { Matcher } from './register.js';

/** Every matcher the entry points register; one line per matcher. */
export const robustestMatchers: Record<string, Matcher> = {
  toBeRobustAgainst: toBeRobustAgainst as Matcher,
  toHaveRobustAccuracy: toHaveRobustAccuracy as Matcher,
  toBeRobust: toBeRobust as Matcher,
  toMatchRobustnessSnapshot: toMatchRobustnessSnapshot as Matcher,
  toBeRobustUnder: toBeRobustUnder as Matcher,
  toBeInvariantUnder: toBeInvariantUnder as Matcher,
  toBeCertifiedRobust: toBeCertifiedRobust as Matcher,
  toHaveCertifiedRadius: toHaveCertifiedRadius as Matcher,
  toDetect: toDetect as Matcher,
};

export { toBeRobustAgainst, toHaveRobustAccuracy, toBeRobust, toMatchRobustnessSnapshot, toBeRobustUnder, toBeInvariantUnder, toBeCertifiedRobust, toHaveCertifiedRadius, toDetect };
export { configureRobustest, resetRobustest, robustestDefaults } from './config.js';
export type { RobustestDefaults } from './config.js';
export { registerMatchers, failOnUnawaited } from './register.js';
export type { Integration, Matcher } from './register.js';
export type { MatcherContext, MatcherResult, MatcherUtils } from './context.js';
export type { RobustestMatchers, RobustAgainstOptions, RobustAccuracyOptions, RobustOptions, RobustnessSnapshotOptions, CertifiedRobustOptions, CertifiedRadiusOptions, DetectOptions } from './types.js';
export { robustnessSerializer, stableReport, isRobustnessReport } from '../src/report/serializer.js';
export { formatRobustnessTable } from '../src/report/table.js';
export type { AssertionRecord } from '../src/report/table.js';
