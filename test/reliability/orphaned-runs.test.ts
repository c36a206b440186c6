/**
 * Real Vitest and Jest runs of fixture projects against the packed package: three concurrent
 * assertions on one model (describe.concurrent), and a test that forgets `await`. The forgotten
 * assertion fails its own test with a clear message, its run is aborted and stays silent, and every
 * later test in the file still runs and reports.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childEnv, makeProject, packedPackage, readResults, run, stripAnsi } from '../fixtures/projects/harness.js';

const projects: string[] = [];
let pkg: string;

beforeAll(async () => {
  pkg = await packedPackage();
});
afterAll(() => {
  for (const dir of projects) rmSync(dir, { recursive: true, force: true });
});

const NOT_AWAITED = 'expect(…).toBeRobustAgainst() was still running when the test ended';
const CRASH = /Unhandled|uncaught|Worker exited unexpectedly|RobustestError: .*(backend|ABORTED)/i;

describe('orphaned and concurrent assertions in real runs', () => {
  it('Vitest: describe.concurrent gives every verdict; a forgotten await fails only its own test', async () => {
    const dir = makeProject('orphans-vitest', pkg, { overlays: ['orphans-model'] });
    projects.push(dir);
    const result = await run([join(dir, 'node_modules', 'vitest', 'vitest.mjs'), 'run'], dir, childEnv());
    const output = stripAnsi(result.stdout + result.stderr);
    const tests = readResults(join(dir, 'results.json'));
    expect(result.status, output).toBe(1);
    expect([...tests].map(([name, t]) => [name, t.status])).toEqual([
      ['ε = 0.04', 'passed'],
      ['ε = 0.09', 'passed'],
      ['ε = 0.19', 'passed'],
      ['forgets await', 'failed'],
      ['runs after the forgotten await', 'passed'],
      ['and another', 'passed'],
    ]);
    expect(tests.get('forgets await')!.failureMessages.join('\n')).toContain(NOT_AWAITED);
    expect(output).not.toMatch(CRASH);
  }, 300_000);

  it('Jest: a forgotten await fails its own test, and the run ends with its summary', async () => {
    const dir = makeProject('orphans-jest', pkg, { overlays: ['orphans-model'] });
    projects.push(dir);
    const result = await run([join(dir, 'node_modules', 'jest', 'bin', 'jest.js'), '--json', '--outputFile', 'results.json'], dir, childEnv());
    const output = stripAnsi(result.stdout + result.stderr);
    const tests = readResults(join(dir, 'results.json'));
    expect(result.status, output).toBe(1);
    expect([...tests].map(([name, t]) => [name, t.status])).toEqual([
      ['forgets await', 'failed'],
      ['runs after the forgotten await', 'passed'],
      ['and another', 'passed'],
    ]);
    expect(tests.get('forgets await')!.failureMessages.join('\n')).toContain(NOT_AWAITED);
    expect(output).toMatch(/Tests:\s+1 failed, 2 passed, 3 total/);
    expect(output).not.toMatch(CRASH);
  }, 300_000);
});
