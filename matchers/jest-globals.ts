/**
 * `robustest/jest-globals` (in `setupFilesAfterEnv`): registers the robustness matchers on the
 * `expect` of `@jest/globals`, and types them on the `expect` module that it is built from.
 */
import { afterEach, expect } from '@jest/globals';
import { robustestMatchers } from './index.js';
import { registerMatchers } from './register.js';
import type { RobustestMatchers } from './types.js';

registerMatchers(expect as unknown as { extend(matchers: Record<string, unknown>): void }, robustestMatchers, {
  afterEach,
  ownerOfAssertion: (ctx) => ctx.currentTestName,
  ownerInAfterEach: () => expect.getState().currentTestName,
});

export * from './index.js';

declare module 'expect' {
  interface Matchers<R extends void | Promise<void>, T = unknown> extends RobustestMatchers<R, T> {}
}
