import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsx = join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');

/** Runs a script in a fresh Node process (a fresh tfjs engine) and returns its last stdout line as JSON. */
function runFresh(source: string, env: Record<string, string> = {}): Record<string, unknown> {
  // Inside the project so that the script resolves the project's node_modules.
  mkdirSync(join(root, 'node_modules', '.cache'), { recursive: true });
  const dir = mkdtempSync(join(root, 'node_modules', '.cache', 'robustest-backend-'));
  const file = join(dir, 'script.mts');
  writeFileSync(file, source.replaceAll('ROOT', root));
  const out = execFileSync(process.execPath, [tsx, file], {
    cwd: root,
    env: { ...process.env, ...env, ROBUSTEST_BACKEND: env.ROBUSTEST_BACKEND ?? '' },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return JSON.parse(out.trim().split('\n').at(-1)!);
}

const script = `
import * as tf from '@tensorflow/tfjs';
import { classifier, evaluate, fgsm } from 'ROOT/src/index.ts';

// The user's own synchronous tfjs code right after the import keeps working.
const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: 2 })] });
const before = tf.getBackend();
const y = (model.predict(tf.ones([1, 2])) as tf.Tensor).dataSync().length;
const report = await evaluate(classifier(model), { inputs: [[0.5, 0.5]], labels: [0] }, { attack: fgsm(), epsilons: [0.1] });
console.log(JSON.stringify({ before, y, after: tf.getBackend(), reported: report.backend }));
`;

describe('backend choice', () => {
  it('does not touch the backend at import; switches to wasm in the first async call and reports it', () => {
    const result = runFresh(script);
    expect(result).toEqual({ before: 'cpu', y: 2, after: 'wasm', reported: 'wasm' });
  });

  it('ROBUSTEST_BACKEND overrides the choice', () => {
    const result = runFresh(script, { ROBUSTEST_BACKEND: 'cpu' });
    expect(result.reported).toBe('cpu');
  });

  it('an unknown ROBUSTEST_BACKEND is a clear error', () => {
    const result = runFresh(
      `import { ensureBackend } from 'ROOT/src/index.ts';
       const message = await ensureBackend().then(() => 'no error', (e) => e.message);
       console.log(JSON.stringify({ message }));`,
      { ROBUSTEST_BACKEND: 'gpu' },
    );
    expect(result.message).toContain('ROBUSTEST_BACKEND names an unknown backend');
    expect(result.message).toContain('Expected: tensorflow | wasm | cpu');
    expect(result.message).toContain('Received: "gpu"');
  });
});
