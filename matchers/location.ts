/**
 * Where an assertion runs — its test file and test name — and the files derived from them:
 * counterexample pictures under `__robustness__/` and robustness snapshots under `__snapshots__/`,
 * both next to the test file.
 */
import { basename, dirname, isAbsolute, join, relative, sep } from 'node:path';
import type { MatcherContext } from './context.js';

export function testFile(ctx: MatcherContext): string | null {
  return typeof ctx.testPath === 'string' && ctx.testPath.length > 0 ? ctx.testPath : null;
}

export function testName(ctx: MatcherContext): string {
  return typeof ctx.currentTestName === 'string' && ctx.currentTestName.length > 0 ? ctx.currentTestName : '(outside a test)';
}

/** A file-name-safe rendering of free text. */
export function slug(text: string, max = 80): string {
  const s = text
    .normalize('NFKD')
    .replace(/ε/g, 'eps')
    .replace(/[^A-Za-z0-9.]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .toLowerCase();
  return (s || 'test').slice(0, max).replace(/-+$/, '');
}

/** The picture file for an assertion; `label` tells apart several assertions in one test. */
export function picturePath(ctx: MatcherContext, pictureDir: string, label: string): string {
  const file = testFile(ctx);
  const base = isAbsolute(pictureDir) ? pictureDir : join(file ? dirname(file) : process.cwd(), pictureDir);
  return join(base, file ? basename(file) : 'robustest', `${slug(testName(ctx))}--${slug(label, 40)}.png`);
}

export function snapshotPath(ctx: MatcherContext): string {
  const file = testFile(ctx);
  if (!file) return join(process.cwd(), '__snapshots__', 'robustest.robustness.json');
  return join(dirname(file), '__snapshots__', `${basename(file)}.robustness.json`);
}

/** A path as a person would type it from the working directory. */
export function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel.split(sep).join('/') : path;
}

const COUNTERS = Symbol.for('robustest.snapshotCounters');
type CounterHolder = { [COUNTERS]?: { byTask: WeakMap<object, Map<string, number>>; byName: Map<string, number> } };

/**
 * The n-th snapshot key of the running test ("name 1", "name 2", …). Counted per Vitest task and
 * attempt when the runner exposes its task, else per test file and name.
 */
export function nextSnapshotKey(ctx: MatcherContext): string {
  const holder = globalThis as CounterHolder;
  const counters = (holder[COUNTERS] ??= { byTask: new WeakMap(), byName: new Map() });
  const name = testName(ctx);
  const task = ctx.task as { result?: { retryCount?: number; repeatCount?: number } } | undefined;
  let table: Map<string, number>;
  let key: string;
  if (task && typeof task === 'object') {
    table = counters.byTask.get(task) ?? new Map();
    counters.byTask.set(task, table);
    key = `${task.result?.retryCount ?? 0}/${task.result?.repeatCount ?? 0}`;
  } else {
    table = counters.byName;
    key = `${testFile(ctx) ?? ''}\u0000${name}`;
  }
  const n = (table.get(key) ?? 0) + 1;
  table.set(key, n);
  return `${name} ${n}`;
}
