/**
 * The part of the matcher context (`this` inside a matcher) that Jest and Vitest both provide,
 * and the result a matcher returns. Only what the robustness matchers use is named here.
 */
import type { AssertionRecord } from '../src/report/table.js';

type Colour = (text: string) => string;

export interface MatcherUtils {
  matcherHint(name: string, received?: string, expected?: string, options?: { isNot?: boolean; promise?: string; secondArgument?: string }): string;
  printReceived(value: unknown): string;
  printExpected(value: unknown): string;
  EXPECTED_COLOR?: Colour;
  RECEIVED_COLOR?: Colour;
}

export interface MatcherContext {
  /** Vitest leaves it undefined without `.not`. */
  isNot: boolean | undefined;
  promise: string;
  utils: MatcherUtils;
  testPath?: string;
  currentTestName?: string;
  /** Jest's and Vitest's snapshot state; `_updateSnapshot` reflects --ci / CI and -u. */
  snapshotState?: { _updateSnapshot?: 'all' | 'new' | 'none' } | null;
  /** Vitest's running test, when Vitest provides it. */
  task?: unknown;
}

export interface MatcherResult {
  pass: boolean;
  message: () => string;
  /** What the test-run integration needs: the record for reporters, a picture, a hint. */
  meta?: { robustest?: { record: AssertionRecord; picture: string | null; hint: string | null } };
}

/** Hint shown in messages, with the matcher called as it was (`.not`, `.resolves`). */
export function hint(ctx: MatcherContext, name: string, received: string, expected: string): string {
  return ctx.utils.matcherHint(name, received, expected, { isNot: ctx.isNot === true, promise: ctx.promise ?? '' });
}
