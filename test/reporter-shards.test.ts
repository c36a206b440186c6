/**
 * Sharded runs: the example suite (a fast subset of it) split over two Vitest shards with the
 * blob reporter, then `vitest --merge-reports`, gives one robustness table and one HTML report
 * covering the assertions of both shards — what a CI matrix does to scale past one machine.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, test } from 'vitest';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'robustest-shards-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const vitest = join('node_modules', '.bin', 'vitest');
// CI mode: no snapshot is written by a shard.
const env = { ...process.env, CI: 'true', ROBUSTEST_REPORT: join(dir, 'merged.html'), FORCE_COLOR: '0', NO_COLOR: '1' };
const SUBSET = ['-t', 'clean digits'];

test('two shards merge into one table and one HTML report over both', async () => {
  const shards = await Promise.all(
    [1, 2].map((i) => run(vitest, ['run', '--config', 'examples/vitest.config.ts', `--shard=${i}/2`, ...SUBSET, '--reporter=blob', `--outputFile=${join(dir, 'blobs', `blob-${i}.json`)}`], { env })),
  );
  for (const shard of shards) expect(shard.stdout + shard.stderr).toMatch(/blob report written/);
  const merged = await run(vitest, ['run', '--config', 'examples/vitest.config.ts', `--merge-reports=${join(dir, 'blobs')}`], { env });
  const text = merged.stdout;
  // One table, with each shard's file and assertion in it.
  expect(text.match(/^Robustness assertions$/gm)).toHaveLength(1);
  expect(text).toContain('examples/mnist/mlp.robust.test.ts');
  expect(text).toContain('examples/mnist/cnn.robust.test.ts');
  expect(text).toContain('2 robustness assertions: 2 held, 0 failed');
  const rows = text.split('\n').filter((l) => /^pass /.test(l));
  expect(rows).toHaveLength(2);
  // One HTML report whose sections carry the table's numbers.
  expect(text).toContain(`HTML report written to ${join(dir, 'merged.html')}`);
  const html = readFileSync(join(dir, 'merged.html'), 'utf8');
  expect(html.match(/<section /g)).toHaveLength(2);
  for (const row of rows) {
    const [, epsilon, clean, measured] = row.trim().split(/\s+/);
    expect(epsilon).toBe('0');
    expect(html).toContain(`<td data-series="FGSM (L∞, 1 step)" data-epsilon="0">${measured}</td>`);
    expect(html).toContain(`<td data-clean>${clean}</td>`);
  }
});
