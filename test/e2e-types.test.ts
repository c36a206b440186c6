/**
 * Type tests: `tsc -p` (in process, see typecheck.ts) on the projects under test/types, each with the packed package installed and
 * set up exactly as the README shows: the tsconfig `types` entry (robustest/vitest on Vitest 4,
 * robustest/vitest5 on a real Vitest 5, robustest/jest with @types/jest, robustest/jest-globals),
 * or a TypeScript Jest setup file that imports robustest/jest. The Jest set-ups are compiled under
 * every module resolution a Jest user meets: node10 (`module: commonjs`, where only
 * `typesVersions` maps subpaths), node16, nodenext and bundler. Each project holds expect-type
 * assertions and `@ts-expect-error` lines on wrong arguments (an unused one is itself an error),
 * and has a control: without its set-up line it must fail to compile, so the passing run depends
 * on robustest's declarations. Two more projects import every entry point with `skipLibCheck:
 * false`, against Vitest 4 and against Vitest 5.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { makeProject, packedPackage, REPO } from './fixtures/projects/harness.js';
import { typecheck, type TypecheckResult } from './fixtures/projects/typecheck.js';
import { vitest5, type Vitest5 } from './fixtures/projects/vitest5.js';

const TYPES = join(REPO, 'test', 'types');
const projects: string[] = [];
let pkg: string;
let v5: Vitest5;

function tsc(name: string, config = 'tsconfig.json', edit?: (dir: string) => void): TypecheckResult {
  const modules = name.includes('vitest5') ? [v5.modules] : [];
  const dir = makeProject(name, pkg, { sourceRoot: TYPES, modules });
  projects.push(dir);
  edit?.(dir);
  return typecheck(dir, config);
}

const withoutText = (file: string, text: RegExp) => (dir: string): void => {
  const path = join(dir, file);
  const before = readFileSync(path, 'utf8');
  expect(before).toMatch(text);
  writeFileSync(path, before.replace(text, ''));
};

beforeAll(async () => {
  [pkg, v5] = await Promise.all([packedPackage(), vitest5()]);
}, 600_000);
afterAll(() => {
  for (const p of projects) rmSync(p, { recursive: true, force: true });
});

const RESOLUTIONS: [string, string][] = [
  ['node10 (module: commonjs)', 'tsconfig.json'],
  ['node16', 'tsconfig.node16.json'],
  ['nodenext', 'tsconfig.nodenext.json'],
  ['bundler', 'tsconfig.bundler.json'],
];

// [set-up, project, tsconfig, file holding the set-up line, the line]
const cases: [string, string, string, string, RegExp][] = [
  ['Vitest 4, "types": ["robustest/vitest"]', 'vitest4', 'tsconfig.json', 'tsconfig.json', /"robustest\/vitest"/],
  ['Vitest 5, "types": ["robustest/vitest5"]', 'vitest5', 'tsconfig.json', 'tsconfig.json', /"robustest\/vitest5"/],
  ...RESOLUTIONS.map(([resolution, config]): [string, string, string, string, RegExp] => [
    `Jest's global expect, "types": ["jest", "robustest/jest"], ${resolution}`,
    'jest-global',
    config,
    'tsconfig.json',
    /, "robustest\/jest"/,
  ]),
  ...RESOLUTIONS.map(([resolution, config]): [string, string, string, string, RegExp] => [
    `Jest's global expect, import 'robustest/jest' in jest.setup.ts, ${resolution}`,
    'jest-setup-import',
    config,
    'jest.setup.ts',
    /^import 'robustest\/jest';$/m,
  ]),
  ...RESOLUTIONS.map(([resolution, config]): [string, string, string, string, RegExp] => [
    `@jest/globals, "types": ["robustest/jest-globals"], ${resolution}`,
    'jest-globals',
    config,
    'tsconfig.json',
    /"robustest\/jest-globals"/,
  ]),
];

describe('matcher types as users get them', () => {
  test.each([
    ['Vitest 4', 'declarations'],
    ['Vitest 5', 'declarations-vitest5'],
  ])("every entry point's declarations compile with skipLibCheck off, on %s", (_, name) => {
    const result = tsc(name);
    expect(result.output).toBe('');
    expect(result.status).toBe(0);
  });

  test.each(cases)('%s: compiles, with every @ts-expect-error used', (_, name, config) => {
    const result = tsc(name, config);
    expect(result.output).toBe('');
    expect(result.status).toBe(0);
  });

  test.each(cases)('%s: fails to compile without it', (_, name, config, file, line) => {
    const result = tsc(name, config, withoutText(file, line));
    expect(result.status).not.toBe(0);
    expect(result.output).toMatch(/error TS2339: Property 'to(BeRobustAgainst|HaveRobustAccuracy)' does not exist on type/);
  });
});
