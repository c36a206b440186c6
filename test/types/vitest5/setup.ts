import 'robustest/vitest';
import type { RobustestMatchers } from 'robustest/matchers';

// The one line the README gives for Vitest 5, whose extension point is Matchers<R, T>.
declare module 'vitest' {
  interface Matchers<R, T> extends RobustestMatchers<R, T> {}
}
