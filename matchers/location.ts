/**
 * Where an assertion runs — its test file and test name — and the files derived from them:
 * counterexample pictures under `__robustness__/` and robustness snapshots under `__snapshots__/`,
 * both next to the test file.
 */
import { createHash } from 'node:crypto';
import { basename, dirname, isAbsolute, join, relative, sep } from 'node:path';
import type { MatcherContext } from './context.js';

export function testFile(ctx: MatcherContext): string | null {
  return typeof ctx.testPath === 'string' && ctx.testPath.length > 0 ? ctx.testPath : null;
}

export function testName(ctx: MatcherContext): string {
  return typeof ctx.currentTestName === 'string' && ctx.currentTestName.length > 0 ? ctx.currentTestName : '(outside a test)';
}

/**
 * A file-name-safe rendering of free text: letters of any script, digits and dots, runs of
 * anything else as one dash, at most `maxBytes` bytes of UTF-8 (file names are limited in bytes).
 * Different texts can give the same slug; picture names add a hash of the full text for that.
 */
export function slug(text: string, maxBytes = 80): string {
  const s = text
    .normalize('NFKD')
    // Accents off Latin letters (café → cafe); marks that other scripts need are kept.
    .replace(/(\p{Script=Latin})\p{M}+/gu, '$1')
    .replace(/ε/g, 'eps')
    .replace(/[^\p{L}\p{M}\p{N}.]+/gu, '-')
    .normalize('NFC')
    .replace(/^-+|-+$/g, '')
    .toLowerCase();
  let out = '';
  for (const ch of s || 'test') {
    if (Buffer.byteLength(out + ch) > maxBytes) break;
    out += ch;
  }
  return out.replace(/-+$/, '');
}

/** A short, stable digest that tells apart texts whose slugs are equal. */
export function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 8);
}

/**
 * The picture file of an assertion: `<pictureDir>/<test file name>/<test>--<label>-<hash>.png`,
 * with `pictureDir` relative to the test file's folder. The hash covers the test file's path, the full
 * test name, `identity` (the label unless given) and the assertion's position among the test's
 * pictures, so every assertion gets its own file however its name reads once cut to a slug.
 */
export function picturePath(ctx: MatcherContext, pictureDir: string, label: string, identity = label): string {
  const file = testFile(ctx);
  const base = isAbsolute(pictureDir) ? pictureDir : join(file ? dirname(file) : process.cwd(), pictureDir);
  const name = testName(ctx);
  const index = nextIndex(ctx, 'picture');
  // The test file as seen from the working directory, so that a clone elsewhere gets the same names.
  const hash = shortHash([file ? displayPath(file) : '', name, identity, String(index)].join('\u0000'));
  return join(base, file ? basename(file) : 'robustest', `${slug(name, 96)}--${slug(label, 40)}-${hash}.png`);
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
type Counters = { byTask: WeakMap<object, Map<string, number>>; byName: Map<string, number> };
type CounterHolder = { [COUNTERS]?: Counters };

/**
 * 1 for the first call of `kind` in the running test, then 2, 3, … Counted per Vitest task and
 * attempt when the runner exposes its task, else per test file and name.
 */
function nextIndex(ctx: MatcherContext, kind: 'snapshot' | 'picture'): number {
  const holder = globalThis as CounterHolder;
  const counters = (holder[COUNTERS] ??= { byTask: new WeakMap(), byName: new Map() });
  const task = ctx.task as { result?: { retryCount?: number; repeatCount?: number } } | undefined;
  let table: Map<string, number>;
  let key: string;
  if (task && typeof task === 'object') {
    table = counters.byTask.get(task) ?? new Map();
    counters.byTask.set(task, table);
    key = `${kind}\u0000${task.result?.retryCount ?? 0}/${task.result?.repeatCount ?? 0}`;
  } else {
    table = counters.byName;
    key = `${kind}\u0000${testFile(ctx) ?? ''}\u0000${testName(ctx)}`;
  }
  const n = (table.get(key) ?? 0) + 1;
  table.set(key, n);
  return n;
}

/** The n-th snapshot key of the running test ("name 1", "name 2", …). */
export function nextSnapshotKey(ctx: MatcherContext): string {
  return `${testName(ctx)} ${nextIndex(ctx, 'snapshot')}`;
}
