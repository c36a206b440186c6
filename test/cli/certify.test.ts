/** `robustest certify`: its bracket is verify()'s on the same inputs, and --fail-under gates on the certified side. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { ensureBackend, pgd } from '../../src/index.js';
import { verify } from '../../src/certify/verify.js';
import { main } from '../../src/cli/main.js';
import type { CertifyResult } from '../../src/cli/certify.js';
import { loadMnistModel, mnistSamples } from '../../examples/mnist/models.js';

let dir: string;
beforeAll(async () => {
  await ensureBackend();
  dir = mkdtempSync(join(tmpdir(), 'robustest-certify-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('certified and not-falsified accuracies are verify()’s; --fail-under above the certified share exits 1', async () => {
  const io = { out: () => {}, err: () => {}, live: false };
  const argv = ['certify', 'examples/mnist/models/mlp/model.json', '--data', 'mnist', '--n', '10', '--eps', '0.002,0.02', '--method', 'ibp', '--json', join(dir, 'c.json'), '--html', join(dir, 'c.html'), '--no-progress'];
  expect(await main(argv, io)).toBe(0);
  const result = JSON.parse(readFileSync(join(dir, 'c.json'), 'utf8')) as CertifyResult;
  const model = await loadMnistModel('mlp');
  const digits = mnistSamples(10);
  const report = await verify(model, digits, { epsilons: [0.002, 0.02], attack: pgd(), method: 'ibp', seed: 0 });
  expect(result.certified).toEqual(report.robustAccuracy.map(([low]) => low));
  expect(result.notFalsified).toEqual(report.robustAccuracy.map(([, high]) => high));
  result.certified.forEach((c, i) => expect(c).toBeLessThanOrEqual(result.notFalsified[i]!));
  digits.inputs.dispose();
  model.dispose();
  const html = readFileSync(join(dir, 'c.html'), 'utf8');
  expect(html).toContain('class="bracket"');
  const lowest = Math.min(...result.certified);
  expect(lowest).toBeLessThan(1);
  const gate = (threshold: number) => main([...argv.slice(0, 10), '--fail-under', String(threshold), '--no-progress'], io);
  expect(await gate(Math.min(1, lowest + 0.05))).toBe(1);
  expect(await gate(lowest)).toBe(0);
});
