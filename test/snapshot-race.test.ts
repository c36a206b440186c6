/**
 * Two real `vitest run` processes at once, each with two workers (two projects running the same
 * file) and concurrent tests, store 200 curves in one `.robustness.json`: every assertion passes
 * and every curve is in the file. Then both run again with -u and changed curves: all 200 are
 * replaced. Before writes were atomic and merged under a lock, the same race gave dozens of
 * "not valid JSON" failures and lost curves.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { childEnv, makeProject, packedPackage, run, stripAnsi, type RunResult } from './fixtures/projects/harness.js';

const TAGS = ['A', 'B'] as const;
const PARTS = ['p1', 'p2'] as const;
const PER_PART = 50;

let dir: string;

/** Both processes started together; resolves when both have ended. */
function race(args: string[], shift: number): Promise<RunResult[]> {
  return Promise.all(
    TAGS.map((tag) => run([join(dir, 'node_modules', 'vitest', 'vitest.mjs'), 'run', ...args], dir, childEnv({ RACE_TAG: tag, RACE_SHIFT: String(shift) }), 300_000)),
  );
}

interface Outcome {
  passed: number;
  failed: string[];
}

function outcome(tag: string): Outcome {
  const json = JSON.parse(readFileSync(join(dir, `results-${tag}.json`), 'utf8')) as {
    testResults: { assertionResults: { fullName: string; status: string; failureMessages: string[] }[] }[];
  };
  const all = json.testResults.flatMap((f) => f.assertionResults);
  return {
    passed: all.filter((t) => t.status === 'passed').length,
    failed: all.filter((t) => t.status !== 'passed').map((t) => `${t.fullName}: ${stripAnsi(t.failureMessages.join(' ')).split('\n')[0]}`),
  };
}

/** The curve the fixture reports for test i at a given shift, rounded as stored. */
function expectedCurve(i: number, shift: number): number[] {
  const v = Math.round((1000 * ((i * 37 + shift * 11) % 100)) / 100) / 1000;
  return [v, Math.round((v / 2) * 1000) / 1000];
}

function storedCurves(): Record<string, { robustAccuracy: number[] }> {
  return JSON.parse(readFileSync(join(dir, '__snapshots__', 'curves.test.mjs.robustness.json'), 'utf8')).curves;
}

function expectedKeys(): string[] {
  return TAGS.flatMap((tag) => PARTS.flatMap((part) => Array.from({ length: PER_PART }, (_, i) => `${tag} ${part} > curve ${i} 1`))).sort();
}

function checkRun(results: RunResult[], shift: number): void {
  for (const [k, tag] of TAGS.entries()) {
    const o = outcome(tag);
    expect(o.failed, `process ${tag} (exit ${results[k]!.status}):\n${results[k]!.stderr.slice(-2000)}`).toEqual([]);
    expect(o.passed).toBe(PARTS.length * PER_PART);
    expect(results[k]!.status).toBe(0);
  }
  const curves = storedCurves();
  expect(Object.keys(curves).sort()).toEqual(expectedKeys());
  for (const key of expectedKeys()) {
    const i = Number(/curve (\d+) 1$/.exec(key)![1]);
    expect(curves[key]!.robustAccuracy, key).toEqual(expectedCurve(i, shift));
  }
  expect(readdirSync(join(dir, '__snapshots__'))).toEqual(['curves.test.mjs.robustness.json']);
}

beforeAll(async () => {
  dir = makeProject('snapshot-race', await packedPackage());
}, 600_000);
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('two Vitest processes, two workers each, one snapshot file', () => {
  test('storing 200 new curves at once: no spurious failure, no lost curve', async () => {
    expect(existsSync(join(dir, '__snapshots__'))).toBe(false);
    checkRun(await race([], 0), 0);
  }, 600_000);

  test('updating all 200 with -u at once replaces every curve and loses none', async () => {
    checkRun(await race(['-u'], 1), 1);
  }, 600_000);
});
