/**
 * Registration shared by the framework entry points: wraps each matcher so that an async one left
 * un-awaited fails its test (it is still running when the test ends) and has its run aborted and
 * silenced, prints hints, and hands each result to the framework's own integration (Vitest: task
 * meta and annotations).
 */
import { RobustestError } from '../src/errors.js';
import { withSignal } from '../src/engine/hygiene.js';
import type { MatcherContext, MatcherResult } from './context.js';

export type Matcher = (this: MatcherContext, received: unknown, ...args: never[]) => MatcherResult | Promise<MatcherResult>;

export interface Integration {
  /** The framework's afterEach, used to catch async assertions that were not awaited. */
  afterEach?: (fn: (context?: unknown) => void) => void;
  /**
   * The test an assertion belongs to, seen from the matcher and from afterEach, so that concurrent
   * tests only answer for their own assertions. Without these, afterEach checks every assertion.
   */
  ownerOfAssertion?: (ctx: MatcherContext) => unknown;
  ownerInAfterEach?: (context: unknown) => unknown;
  /** Called with each settled result (Vitest records it on the running test). */
  onResult?: (ctx: MatcherContext, result: MatcherResult) => void | Promise<void>;
}

interface Pending {
  matcher: string;
  owner: unknown;
  /** Aborts the assertion's run once its test has ended without awaiting it. */
  controller: AbortController;
}

const PENDING = Symbol.for('robustest.pending');
type PendingHolder = { [PENDING]?: Set<Pending> };

function pendingSet(): Set<Pending> {
  return ((globalThis as PendingHolder)[PENDING] ??= new Set());
}

export function registerMatchers(expect: { extend(matchers: Record<string, unknown>): void }, matchers: Record<string, Matcher>, integration: Integration = {}): void {
  const wrapped = Object.fromEntries(Object.entries(matchers).map(([name, fn]) => [name, wrap(name, fn, integration)]));
  expect.extend(wrapped);
  const owner = integration.ownerInAfterEach;
  // A rest parameter keeps the hook's arity at 0: Jest would take a declared parameter for `done`.
  integration.afterEach?.((...context: unknown[]) => failOnUnawaited(owner ? owner(context[0]) : undefined));
}

function wrap(name: string, fn: Matcher, integration: Integration): Matcher {
  const wrapped = function (this: MatcherContext, received: unknown, ...args: never[]): MatcherResult | Promise<MatcherResult> {
    const controller = new AbortController();
    // Every robustest call the matcher starts runs under this signal.
    const result = withSignal(controller.signal, () => fn.call(this, received, ...args));
    if (!(result instanceof Promise)) {
      void settle(this, result, integration);
      return result;
    }
    const entry: Pending = { matcher: name, owner: integration.ownerOfAssertion?.(this), controller };
    const pending = pendingSet();
    pending.add(entry);
    // Once its test has ended (afterEach aborted it), an assertion decides nothing and must not
    // throw: nobody awaits it, so a rejection would be an uncaught error that ends the worker.
    const orphaned = (): MatcherResult => ({ pass: this.isNot !== true, message: () => `${name}: the test ended before this assertion settled.` });
    return result.then(
      async (value) => {
        pending.delete(entry);
        if (controller.signal.aborted) return orphaned();
        await settle(this, value, integration);
        return value;
      },
      (error: unknown) => {
        pending.delete(entry);
        if (controller.signal.aborted) return orphaned();
        throw error;
      },
    );
  };
  Object.defineProperty(wrapped, 'name', { value: name });
  return wrapped;
}

async function settle(ctx: MatcherContext, result: MatcherResult, integration: Integration): Promise<void> {
  const note = result.meta?.robustest?.hint;
  if (note) console.info(note);
  try {
    await integration.onResult?.(ctx, result);
  } catch {
    // Reporting is best effort: a runner that refuses an annotation must not change a verdict.
  }
}

/**
 * Fails the test that just ended if one of its robustness assertions is still running. `owner`
 * names that test (as ownerOfAssertion does); undefined checks every assertion in flight.
 */
export function failOnUnawaited(owner?: unknown): void {
  const pending = [...pendingSet()].filter((p) => owner === undefined || p.owner === undefined || p.owner === owner);
  if (pending.length === 0) return;
  const names = [...new Set(pending.map((p) => p.matcher))];
  for (const p of pending) {
    pendingSet().delete(p);
    p.controller.abort(new Error('its test ended before it settled'));
  }
  throw new RobustestError(
    'NOT_AWAITED',
    `${names.map((n) => `expect(…).${n}()`).join(', ')} was still running when the test ended: robustness matchers are async and must be awaited (or the test timed out first).`,
    { expected: `await expect(model).${names[0]}(…)`, received: `expect(model).${names[0]}(…) without await` },
  );
}
