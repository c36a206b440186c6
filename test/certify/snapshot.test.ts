/**
 * A CertificationReport in snapshots: the serializer prints it without time or backend, and
 * toMatchRobustnessSnapshot stores its certified-accuracy curve and fails when it regresses.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { robustnessSerializer } from '../../src/report/serializer.js';
import { toMatchRobustnessSnapshot } from '../../matchers/snapshot.js';
import type { MatcherContext } from '../../matchers/context.js';
import type { CertificationReport } from '../../src/certify/report.js';

const report: CertificationReport = {
  epsilons: [0.01, 0.02],
  norm: 'linf',
  method: 'auto',
  count: 2,
  cleanAccuracy: 1,
  certifiedAccuracy: [1, 0.5],
  samples: [
    { index: 0, label: 3, prediction: 3, margins: [1.23456, 0.4], certified: [true, true], certifiedBy: ['ibp', 'crown'], strongest: ['ibp', 'crown'] },
    { index: 1, label: 1, prediction: 1, margins: [0.2, -0.11111], certified: [true, false], certifiedBy: ['crown', null], strongest: ['crown', 'alpha-crown'] },
  ],
  budget: { seconds: 60, exhausted: false },
  seconds: 1.5,
  backend: 'wasm',
};

const dir = mkdtempSync(join(tmpdir(), 'robustest-certify-snapshot-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const context = (): MatcherContext => ({
  isNot: false,
  promise: '',
  testPath: join(dir, 'model.test.ts'),
  currentTestName: 'certified curve',
  snapshotState: { _updateSnapshot: 'new' },
  task: {},
  utils: { matcherHint: (name) => name, printExpected: String, printReceived: String },
});

describe('certification snapshots', () => {
  it('serializes a CertificationReport without time or backend, margins to 3 decimals', () => {
    expect(robustnessSerializer.test(report)).toBe(true);
    const printed = robustnessSerializer.serialize(report, {}, '', 0, [], (v) => JSON.stringify(v));
    expect(printed.startsWith('CertificationReport ')).toBe(true);
    expect(printed).toContain('1.235');
    expect(printed).not.toContain('seconds');
    expect(printed).not.toContain('wasm');
  });

  it('stores the certified-accuracy curve and fails when it regresses', async () => {
    const stored = await toMatchRobustnessSnapshot.call(context(), report, {});
    expect(stored.pass).toBe(true);
    const same = await toMatchRobustnessSnapshot.call(context(), report, {});
    expect(same.pass).toBe(true);
    const worse = await toMatchRobustnessSnapshot.call(context(), { ...report, certifiedAccuracy: [1, 0] }, { tolerance: 0.1 });
    expect(worse.pass).toBe(false);
    expect(worse.message()).toContain('certificate (auto)');
  });
});
