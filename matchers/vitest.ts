/**
 * `import 'robustest/vitest'` (in `test.setupFiles`): registers the robustness matchers on
 * Vitest's expect, records each assertion on the running test (`task.meta.robustest`, read by
 * `robustest/reporter`), annotates failing ones with their summary and picture where the installed
 * Vitest supports annotations, and fails a test whose robustness assertion was not awaited.
 */
import * as vitest from 'vitest';
import type { MatcherContext, MatcherResult } from './context.js';
import { robustestMatchers } from './index.js';
import { registerMatchers } from './register.js';
import type { RobustestMatchers } from './types.js';
import type { AssertionRecord } from '../src/report/table.js';
import { formatEpsilon } from '../src/report/epsilon.js';

interface TaskLike {
  meta?: Record<string, unknown>;
  context?: { annotate?: (message: string, type?: string, attachment?: { path?: string; contentType?: string }) => Promise<unknown> };
  result?: { state?: string };
}

async function recordOnTask(ctx: MatcherContext, result: MatcherResult): Promise<void> {
  const info = result.meta?.robustest;
  const task = ctx.task as TaskLike | undefined;
  if (!info || !task || typeof task !== 'object') return;
  // An assertion that settles after its test ended (it was not awaited) no longer decides anything.
  if (task.result?.state !== undefined && task.result.state !== 'run') return;
  task.meta ??= {};
  const records = (task.meta.robustest ??= []) as AssertionRecord[];
  records.push(info.record);
  const annotate = task.context?.annotate;
  if (!info.record.passed && typeof annotate === 'function') {
    const r = info.record;
    const summary = `${r.attack}${r.epsilon === null ? '' : ` at ε = ${formatEpsilon(r.epsilon, r.bounds)}`}: robust accuracy ${r.robustAccuracy.toFixed(3)}, required ${r.required}`;
    await annotate.call(task.context, summary, 'robustest', info.picture ? { path: info.picture, contentType: 'image/png' } : undefined);
  }
}

registerMatchers(vitest.expect, robustestMatchers, {
  afterEach: vitest.afterEach as (fn: (context?: unknown) => void) => void,
  onResult: recordOnTask,
  ownerOfAssertion: (ctx) => ctx.task,
  ownerInAfterEach: (context) => (context as { task?: unknown } | undefined)?.task,
});

export * from './index.js';

declare global {
  // Vitest 3 and 4's Assertion<T> extends jest.Matchers<void, T> (as Jest's global expect does), so
  // this augmentation types the matchers without touching Vitest's own `Matchers`, whose type
  // parameters differ between majors (Vitest 4: Matchers<T>; Vitest 5: Matchers<R, T>). Vitest 5
  // no longer goes through jest.Matchers: types/vitest5.d.ts (robustest/vitest5) augments its own.
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace jest {
    // eslint-disable-next-line @typescript-eslint/no-empty-object-type
    interface Matchers<R, T = {}> extends RobustestMatchers<R, T> {}
  }
}
