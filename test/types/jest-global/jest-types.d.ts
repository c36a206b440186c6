// The part of @types/jest that matcher libraries extend (that package is not installed here): the
// global `jest.Matchers<R, T>` interface and an `expect` whose assertions are jest.Matchers.
declare namespace jest {
  interface Matchers<R, T = {}> {
    toBe(expected: T): R;
  }
  type JestMatchers<T> = Matchers<void, T> & { not: Matchers<void, T>; resolves: Matchers<Promise<void>, T>; rejects: Matchers<Promise<void>, T> };
}
declare const expect: <T = any>(actual: T) => jest.JestMatchers<T>;
