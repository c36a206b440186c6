/**
 * Type tests: `tsc -p` on the projects under test/types, each with the packed package installed:
 * one per framework, with expect-type assertions and `@ts-expect-error` on wrong arguments (an
 * unused one is itself an error); each also has a control — the same project without the line
 * that brings the types in must fail to compile, so the passing run depends on robustest's
 * declarations. One more project imports every entry point with `skipLibCheck: false`, so that
 * robustest's own declaration files are checked against Vitest's, Jest's and tfjs's.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { childEnv, makeProject, packedPackage, REPO, run, type RunResult } from './fixtures/projects/harness.js';

const TYPES = join(REPO, 'test', 'types');
const projects: string[] = [];
let pkg: string;

async function tsc(name: string, edit?: (dir: string) => void): Promise<RunResult> {
  const dir = makeProject(name, pkg, TYPES);
  projects.push(dir);
  edit?.(dir);
  return run([join(dir, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json', '--pretty', 'false'], dir, childEnv());
}

const withoutLine = (file: string, line: RegExp) => (dir: string): void => {
  const path = join(dir, file);
  const text = readFileSync(path, 'utf8');
  expect(text).toMatch(line);
  writeFileSync(path, text.replace(line, ''));
};

beforeAll(async () => {
  pkg = await packedPackage();
});
afterAll(() => {
  for (const p of projects) rmSync(p, { recursive: true, force: true });
});

const cases: [string, string, string, RegExp][] = [
  ['Vitest 4 (Assertion<T> through jest.Matchers<void, T>)', 'vitest4', 'setup.ts', /^import 'robustest\/vitest';$/m],
  ['Vitest 5 shape (Matchers<R, T>, with the README one-liner)', 'vitest5', 'setup.ts', /^declare module 'vitest' \{[\s\S]*?^\}$/m],
  ["Jest's global expect (jest.Matchers<R, T>)", 'jest-global', 'setup.ts', /^import 'robustest\/jest';$/m],
  ["@jest/globals' expect (the 'expect' module's Matchers<R, T>)", 'jest-globals', 'matchers.ts', /^import 'robustest\/jest-globals';$/m],
];

describe('matcher types as users get them', () => {
  test('every entry point\'s declarations compile with skipLibCheck off', async () => {
    const result = await tsc('declarations');
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  test.each(cases)('%s: compiles, with every @ts-expect-error used', async (_, name) => {
    const result = await tsc(name);
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  test.each(cases)('%s: fails to compile without robustest’s declarations', async (_, name, file, line) => {
    const result = await tsc(name, withoutLine(file, line));
    expect(result.status).not.toBe(0);
    expect(result.stdout).toMatch(/error TS2339: Property 'toBeRobustAgainst' does not exist on type/);
  });
});
