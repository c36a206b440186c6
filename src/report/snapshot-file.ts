/**
 * The robustness snapshot file (`{ "robustest": 1, "curves": { key: curve } }`) as several test
 * workers and runner processes share it.
 *
 * Two rules make concurrent use lose nothing:
 * - every write replaces the file by renaming a complete temporary file over it, so a reader sees
 *   either the old file or the new one, never half of one;
 * - every write is a read-modify-write of the newest file done while holding a lock directory
 *   next to it (`<file>.lock`, proper-lockfile), so no writer can overwrite a curve that another
 *   stored after this one last read the file.
 * A writer that dies holding the lock leaves it stale after 10 s; the next writer takes it over.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import lockfile from 'proper-lockfile';
import writeFileAtomic from 'write-file-atomic';
import { RobustestError, show } from '../errors.js';
import type { StoredCurve } from './curve.js';

export interface SnapshotContents {
  robustest: 1;
  /** Values as read: each is checked with storedCurveProblem() before it is compared. */
  curves: Record<string, unknown>;
}

/** Why a file could not be used: it is not JSON, or it is JSON of another shape. */
export interface UnreadableSnapshot {
  unreadable: 'not valid JSON' | 'not a robustness snapshot file';
  detail: string;
}

export type SnapshotRead = SnapshotContents | UnreadableSnapshot;

export const isUnreadable = (read: SnapshotRead): read is UnreadableSnapshot => 'unreadable' in read;

export const SNAPSHOT_SCHEMA = '{ "robustest": 1, "curves": { "<test name> <n>": { model, attacks, norm, count, cleanAccuracy, epsilons, robustAccuracy } } }';

const LOCK_OPTIONS = {
  realpath: false,
  stale: 10_000,
  // Up to about 40 s of waiting: longer than the stale limit, so a dead writer's lock is always outlived.
  retries: { retries: 200, factor: 1.2, minTimeout: 5, maxTimeout: 200, randomize: true },
  // The lock is held for one read and one rename, far below the stale limit; a lost mtime refresh
  // cannot let another writer in mid-write, so it is not worth an uncaught error in a test worker.
  onCompromised: (): void => undefined,
};

/** The file's contents; a missing file is an empty one. Never throws for bad contents. */
export function readSnapshot(path: string): SnapshotRead {
  if (!existsSync(path)) return { robustest: 1, curves: {} };
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    return { unreadable: 'not valid JSON', detail: (error as Error).message };
  }
  const p = parsed as { robustest?: unknown; curves?: unknown };
  const plainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!plainObject(p) || p.robustest !== 1 || !plainObject(p.curves)) {
    return { unreadable: 'not a robustness snapshot file', detail: plainObject(p) ? `an object with keys ${show(Object.keys(p))}, robustest: ${show(p.robustest)}` : show(parsed) };
  }
  return { robustest: 1, curves: { ...p.curves } };
}

/**
 * Runs `change` on the newest contents while holding the file's lock and, when it returns new
 * contents, writes them atomically before the lock is released. `change` sees an unreadable file
 * as it is, and decides whether to replace it. Returns what `change` returned.
 */
export async function updateSnapshot<T>(path: string, change: (current: SnapshotRead) => { write: SnapshotContents | null; result: T }): Promise<T> {
  mkdirSync(dirname(path), { recursive: true });
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(path, LOCK_OPTIONS);
  } catch (error) {
    throw new RobustestError('INVALID_OPTION', `Could not lock ${path} to store a robustness curve: ${(error as Error).message}`, {
      expected: `a writable folder, and ${path}.lock released by other test processes within 40 s`,
      received: String((error as NodeJS.ErrnoException).code ?? (error as Error).message),
    });
  }
  try {
    const { write, result } = change(readSnapshot(path));
    if (write !== null) await writeFileAtomic(path, serializeSnapshot(write));
    return result;
  } finally {
    await release().catch(() => undefined);
  }
}

/** Stable text: keys sorted, two-space indent, a final newline, so diffs show only changed curves. */
export function serializeSnapshot(contents: SnapshotContents): string {
  const sorted = Object.fromEntries(Object.keys(contents.curves).sort().map((k) => [k, contents.curves[k]]));
  return `${JSON.stringify({ robustest: 1, curves: sorted }, null, 2)}\n`;
}

const isAccuracy = (v: unknown): v is number => typeof v === 'number' && v >= 0 && v <= 1;

/**
 * What is wrong with a stored value as a robustness curve, or null when it is one. Checked before
 * every comparison: a null or a string compares false with anything and would pass silently.
 */
export function storedCurveProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return `it is ${show(value)}, not an object`;
  const v = value as Record<string, unknown>;
  if (typeof v.model !== 'string') return `model is ${show(v.model)}, not a string`;
  if (!Array.isArray(v.attacks) || !v.attacks.every((a) => typeof a === 'string')) return `attacks is ${show(v.attacks)}, not a list of names`;
  if (typeof v.norm !== 'string') return `norm is ${show(v.norm)}, not a string`;
  if (typeof v.count !== 'number' || !Number.isInteger(v.count) || v.count < 0) return `count is ${show(v.count)}, not a sample count`;
  if (!isAccuracy(v.cleanAccuracy)) return `cleanAccuracy is ${show(v.cleanAccuracy)}, not a number in [0, 1]`;
  if (!Array.isArray(v.epsilons)) return `epsilons is ${show(v.epsilons)}, not a list`;
  const badEpsilon = v.epsilons.findIndex((e) => typeof e !== 'number' || !Number.isFinite(e) || e < 0);
  if (badEpsilon >= 0) return `epsilons[${badEpsilon}] is ${show(v.epsilons[badEpsilon])}, not a number ≥ 0`;
  if (!Array.isArray(v.robustAccuracy)) return `robustAccuracy is ${show(v.robustAccuracy)}, not a list`;
  if (v.robustAccuracy.length !== v.epsilons.length) return `robustAccuracy has ${v.robustAccuracy.length} values for ${v.epsilons.length} ε`;
  const badAccuracy = v.robustAccuracy.findIndex((a) => !isAccuracy(a));
  if (badAccuracy >= 0) return `robustAccuracy[${badAccuracy}] is ${show(v.robustAccuracy[badAccuracy])}, not a number in [0, 1]`;
  return null;
}

export const asStoredCurve = (value: unknown): StoredCurve | null => (storedCurveProblem(value) === null ? (value as StoredCurve) : null);
