/**
 * `"types": ["robustest/vitest5"]`: the matcher types on Vitest 5, which types `expect()` through its
 * own `Matchers<R, T>` only (Vitest 3 and 4 also go through the global `jest.Matchers` that
 * `robustest/vitest` augments). A file of its own because Vitest 4 declares `Matchers<T>` and
 * Vitest 5 `Matchers<R, T>`: an augmentation must repeat the type parameters exactly, so none fits
 * both. The runtime entry is robustest/vitest's.
 */
import type { RobustestMatchers } from '../dist/matchers.js';

export * from '../dist/vitest.js';

declare module 'vitest' {
  interface Matchers<R extends void | Promise<void> = void | Promise<void>, T = unknown> extends RobustestMatchers<R, T> {}
}
