// The shape of Vitest 5's assertion types, reduced to what augmentation depends on: Assertion<R, T>
// extends Matchers<R, T>, the extension point, and `.resolves` switches R to Promise<void>. This
// module stands in for 'vitest' (see tsconfig paths); it declares no global `jest` namespace, the
// worst case for robustest/vitest's own augmentation.
export interface Matchers<R extends void | Promise<void> = void, T = unknown> {}
export interface Assertion<R extends void | Promise<void> = void, T = unknown> extends Matchers<R, T> {
  toBe(expected: T): R;
  not: Assertion<R, T>;
  resolves: Assertion<Promise<void>, Awaited<T>>;
}
export interface ExpectStatic {
  <T>(actual: T): Assertion<void, T>;
  extend(matchers: Record<string, unknown>): void;
}
export declare const expect: ExpectStatic;
export declare const afterEach: (fn: () => void) => void;
