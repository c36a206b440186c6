/**
 * The snapshot file when it is broken: a corrupt or wrong-schema file, and stored curves holding
 * values that are not accuracies. None may pass; -u must repair each of them. And the file as
 * several writers share it: no curve is lost, no reader sees half a file.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, test } from 'vitest';
import { RobustestError, type RobustnessReport } from '../src/index.js';
import { toMatchRobustnessSnapshot, type MatcherContext, type MatcherResult } from '../matchers/index.js';
import { readSnapshot, storedCurveProblem, updateSnapshot } from '../src/report/snapshot-file.js';

const utils = {
  matcherHint: (name: string) => `expect(report).${name}()`,
  printReceived: (v: unknown) => String(v),
  printExpected: (v: unknown) => String(v),
};

const root = mkdtempSync(join(tmpdir(), 'robustest-snapshot-file-'));
let dir: string;
let case_ = 0;
const testPath = (): string => join(dir, 'curve.test.ts');
const snapshotFile = (): string => join(dir, '__snapshots__', 'curve.test.ts.robustness.json');

function ctx(mode: 'all' | 'new' | 'none', name = 'keeps its curve', isNot = false): MatcherContext {
  return { isNot, promise: '', utils, testPath: testPath(), currentTestName: name, snapshotState: { _updateSnapshot: mode }, task: {} };
}

const check = (c: MatcherContext, received: unknown): Promise<MatcherResult> => toMatchRobustnessSnapshot.call(c, received);

/** A report as evaluate() returns it; only the curve matters to the snapshot. */
function report(robustAccuracy: number[] = [0.4, 0.2]): RobustnessReport {
  return {
    model: 'stripes',
    attacks: ['FGSM (L∞, 1 step)'],
    norm: 'linf',
    epsilons: [0.1, 0.2],
    count: 10,
    cleanAccuracy: 0.8,
    robustAccuracy,
    inputShape: [8, 8, 1],
    bounds: [0, 1],
    seed: 0,
    samples: [],
    backend: 'cpu',
    seconds: 0,
  } as unknown as RobustnessReport;
}

const storedCurve = { model: 'stripes', attacks: ['FGSM (L∞, 1 step)'], norm: 'linf', count: 10, cleanAccuracy: 0.8, epsilons: [0.1, 0.2], robustAccuracy: [0.4, 0.2] };

function writeRaw(text: string): void {
  mkdirSync(join(dir, '__snapshots__'), { recursive: true });
  writeFileSync(snapshotFile(), text);
}
const readBack = (): { robustest: number; curves: Record<string, typeof storedCurve> } => JSON.parse(readFileSync(snapshotFile(), 'utf8'));

beforeEach(() => {
  dir = join(root, `case-${case_++}`);
  mkdirSync(dir);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('a corrupt or wrong-schema snapshot file', () => {
  const broken: [string, string, string][] = [
    ['half-written JSON', '{ "robustest": 1, "curves": { "keeps its curve 1": { "model": "str', 'is not valid JSON'],
    ['another schema version', JSON.stringify({ robustest: 2, curves: {} }), 'is not a robustness snapshot file'],
    ['curves as a list', JSON.stringify({ robustest: 1, curves: [storedCurve] }), 'is not a robustness snapshot file'],
    ['a JSON array', '[]', 'is not a robustness snapshot file'],
  ];

  test.each(broken)('%s is an error that names the file and how to repair it, in local and CI mode', async (_, text, why) => {
    writeRaw(text);
    for (const mode of ['new', 'none'] as const) {
      const error = await check(ctx(mode), report()).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RobustestError);
      expect((error as Error).message).toContain(`curve.test.ts.robustness.json ${why}, so no curve in it can be compared.`);
      expect((error as Error).message).toContain('Running the tests with -u');
      expect((error as RobustestError).expected).toContain('"robustest": 1');
    }
    expect(readFileSync(snapshotFile(), 'utf8')).toBe(text);
  });

  test.each(broken)('%s is replaced by -u, which says so, and the next run compares with the new file', async (_, text, why) => {
    writeRaw(text);
    const updated = await check(ctx('all'), report());
    expect(updated.pass).toBe(true);
    expect(updated.meta?.robustest?.hint).toContain(`was ${why.replace(/^is /, '')}; it was replaced`);
    expect(readBack()).toEqual({ robustest: 1, curves: { 'keeps its curve 1': storedCurve } });
    expect((await check(ctx('none'), report())).pass).toBe(true);
    expect((await check(ctx('none'), report([0.3, 0.2]))).pass).toBe(false);
  });

  test('.not with -u does not write, so it does not repair either: it reports the file', async () => {
    writeRaw('not json');
    await expect(check(ctx('all', 'keeps its curve', true), report())).rejects.toThrow('is not valid JSON');
    expect(readFileSync(snapshotFile(), 'utf8')).toBe('not json');
  });
});

describe('a stored curve that is not a curve', () => {
  const bad: [string, unknown, string][] = [
    ['a null accuracy', { ...storedCurve, robustAccuracy: [null, 0.2] }, 'robustAccuracy[0] is null, not a number in [0, 1]'],
    ['"high" as an accuracy', { ...storedCurve, robustAccuracy: [0.4, 'high'] }, 'robustAccuracy[1] is "high", not a number in [0, 1]'],
    ['an accuracy above 1', { ...storedCurve, robustAccuracy: [40, 20] }, 'robustAccuracy[0] is 40, not a number in [0, 1]'],
    ['a null ε', { ...storedCurve, epsilons: [null, 0.2] }, 'epsilons[0] is null, not a number ≥ 0'],
    ['a missing clean accuracy', { ...storedCurve, cleanAccuracy: undefined }, 'cleanAccuracy is undefined, not a number in [0, 1]'],
    ['fewer accuracies than ε', { ...storedCurve, robustAccuracy: [0.4] }, 'robustAccuracy has 1 values for 2 ε'],
    ['null', null, 'it is null, not an object'],
  ];

  test.each(bad)('%s fails with what is wrong, never passes, in every mode but -u', async (_, curve, problem) => {
    writeRaw(JSON.stringify({ robustest: 1, curves: { 'keeps its curve 1': curve } }));
    for (const [mode, isNot] of [['new', false], ['none', false], ['none', true], ['all', true]] as const) {
      const error = await check(ctx(mode, 'keeps its curve', isNot), report([0.9, 0.9])).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RobustestError);
      expect((error as Error).message).toContain(`Snapshot "keeps its curve 1" in ${snapshotFile()} is not a robustness curve: ${problem}.`);
    }
    expect(storedCurveProblem(curve)).toBe(problem);
  });

  test('-u replaces the bad curve and keeps the good ones', async () => {
    writeRaw(JSON.stringify({ robustest: 1, curves: { 'keeps its curve 1': { ...storedCurve, robustAccuracy: [null, 'high'] }, 'another test 1': storedCurve } }));
    expect((await check(ctx('all'), report([0.5, 0.3]))).pass).toBe(true);
    expect(readBack().curves).toEqual({ 'another test 1': storedCurve, 'keeps its curve 1': { ...storedCurve, robustAccuracy: [0.5, 0.3] } });
  });

  test('a report whose curve holds NaN is refused before anything is written', async () => {
    await expect(check(ctx('new'), report([Number.NaN, 0.2]))).rejects.toThrow("the report's curve cannot be stored or compared: robustAccuracy[0] is NaN, not a number in [0, 1]");
    expect(existsSync(snapshotFile())).toBe(false);
  });

  test('a curve as the matcher stores it has no problem', () => {
    expect(storedCurveProblem(storedCurve)).toBeNull();
    expect(storedCurveProblem({ ...storedCurve, epsilons: [], robustAccuracy: [] })).toBeNull();
  });
});

describe('the file under several writers', () => {
  test('concurrent assertions in one process each keep their curve, and every read sees a whole file', async () => {
    const names = Array.from({ length: 40 }, (_, i) => `concurrent ${i}`);
    const reads: unknown[] = [];
    const reader = setInterval(() => reads.push(readSnapshot(snapshotFile())), 1);
    const results = await Promise.all(names.map((name, i) => check(ctx('new', name), report([i / 40, 0]))));
    clearInterval(reader);
    expect(results.every((r) => r.pass)).toBe(true);
    expect(Object.keys(readBack().curves).sort()).toEqual(names.map((n) => `${n} 1`).sort());
    expect(reads.filter((r) => 'unreadable' in (r as object))).toEqual([]);
  });

  test('updates are merged into the newest file under the lock: none is lost however they interleave', async () => {
    const file = snapshotFile();
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        updateSnapshot(file, (current) => {
          if ('unreadable' in current) throw new Error(current.detail);
          current.curves[`k${i}`] = storedCurve;
          return { write: current, result: null };
        }),
      ),
    );
    expect(Object.keys(readBack().curves)).toHaveLength(30);
    expect(existsSync(`${file}.lock`)).toBe(false);
  });

  test('a change that throws writes nothing and releases the lock', async () => {
    writeRaw(JSON.stringify({ robustest: 1, curves: { kept: storedCurve } }));
    await expect(updateSnapshot(snapshotFile(), () => { throw new Error('refused'); })).rejects.toThrow('refused');
    expect(existsSync(`${snapshotFile()}.lock`)).toBe(false);
    expect(readBack().curves).toEqual({ kept: storedCurve });
  });

  test('a lock left by a writer that died is taken over once stale', async () => {
    writeRaw(JSON.stringify({ robustest: 1, curves: { kept: storedCurve } }));
    mkdirSync(`${snapshotFile()}.lock`);
    const { utimesSync } = await import('node:fs');
    const old = new Date(Date.now() - 60_000);
    utimesSync(`${snapshotFile()}.lock`, old, old);
    expect((await check(ctx('new', 'after a crash'), report())).pass).toBe(true);
    expect(Object.keys(readBack().curves)).toEqual(['after a crash 1', 'kept']);
  });
});
