/**
 * `robustest/jest` (in `setupFilesAfterEnv`): registers the robustness matchers on Jest's global
 * `expect`, and fails a test whose robustness assertion was not awaited. Types: Jest's global
 * `jest.Matchers` (as declared by @types/jest). With `@jest/globals`, use `robustest/jest-globals`.
 */
import { RobustestError } from '../src/errors.js';
import { robustestMatchers } from './index.js';
import { registerMatchers } from './register.js';
import type { RobustestMatchers } from './types.js';

interface JestGlobals {
  expect?: { extend(matchers: Record<string, unknown>): void; getState?(): { currentTestName?: string } };
  afterEach?: (fn: () => void) => void;
}

const globals = globalThis as JestGlobals;
if (typeof globals.expect?.extend !== 'function') {
  throw new RobustestError('INVALID_OPTION', 'robustest/jest registers matchers on the global `expect`, and there is none here.', {
    expected: "Jest with `setupFilesAfterEnv: ['robustest/jest']` (or `robustest/jest-globals` with injectGlobals: false)",
    received: 'no global expect',
  });
}
const expect = globals.expect;
registerMatchers(expect, robustestMatchers, {
  afterEach: globals.afterEach,
  ownerOfAssertion: (ctx) => ctx.currentTestName,
  ownerInAfterEach: () => expect.getState?.().currentTestName,
});

export * from './index.js';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace jest {
    // eslint-disable-next-line @typescript-eslint/no-empty-object-type
    interface Matchers<R, T = {}> extends RobustestMatchers<R, T> {}
  }
}
