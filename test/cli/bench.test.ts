/**
 * `robustest bench` on the bundled MNIST models and on the ONNX fixture: its numbers are the
 * library's (evaluate() on the same inputs, seed and budgets), the worst case is the per-sample
 * minimum over attacks, and the JSON, JUnit and exit codes say the same thing as the table.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Ajv2020 from 'ajv/dist/2020.js';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ensureBackend, evaluate, fgsm, pgd, square } from '../../src/index.js';
import { main } from '../../src/cli/main.js';
import { runBench } from '../../src/cli/bench.js';
import type { BenchResult } from '../../src/cli/result.js';
import { loadMnistModel, mnistSamples } from '../../examples/mnist/models.js';

const schema = JSON.parse(readFileSync(new URL('../../src/cli/bench.schema.json', import.meta.url), 'utf8')) as object;
const CNN = 'examples/mnist/models/cnn/model.json';
const MLP = 'examples/mnist/models/mlp/model.json';
const ONNX = 'test/fixtures/onnx/mnist-cnn.onnx';
const RGB = 'test/fixtures/onnx/rgb-conv.onnx';

let dir: string;
beforeAll(async () => {
  await ensureBackend();
  dir = mkdtempSync(join(tmpdir(), 'robustest-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the command in this process; stdout and stderr are collected. */
async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t), live: false });
  return { code, out, err };
}

const json = (file: string): BenchResult => JSON.parse(readFileSync(join(dir, file), 'utf8')) as BenchResult;

describe('robustest bench on the bundled CNN', () => {
  let result: BenchResult;
  let out: string;

  beforeAll(async () => {
    const r = await run('bench', CNN, '--data', 'mnist', '--n', '24', '--attacks', 'fgsm,pgd', '--eps', '0.1,8/255', '--seed', '3', '--json', join(dir, 'cnn.json'), '--html', join(dir, 'cnn.html'), '--junit', join(dir, 'cnn.xml'));
    expect(r.err).not.toMatch(/Error/);
    expect(r.code).toBe(0);
    out = r.out;
    result = json('cnn.json');
  });

  test('the JSON follows its schema', () => {
    const ajv = new Ajv2020({ allErrors: true });
    const valid = ajv.validate(schema, result);
    expect(ajv.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
    expect(result.epsilons).toEqual([8 / 255, 0.1]);
    expect(result.data.count).toBe(24);
    expect(result.seed).toBe(3);
  });

  test('each attack’s curve is what evaluate() gives on the same inputs, seed and budgets', async () => {
    const model = await loadMnistModel('cnn');
    const digits = mnistSamples(24);
    for (const [k, attack] of [fgsm(), pgd()].entries()) {
      const report = await evaluate(model, digits, { attack, epsilons: [8 / 255, 0.1], seed: 3 });
      expect(result.attacks[k]!.robustAccuracy).toEqual(report.robustAccuracy);
      expect(result.cleanAccuracy).toBe(report.cleanAccuracy);
      expect(result.attacks[k]!.description).toBe(attack.describe());
    }
    digits.inputs.dispose();
    model.dispose();
  });

  test('the worst case is per sample: never above any attack, and every counterexample is a real one', async () => {
    result.epsilons.forEach((_, i) => {
      for (const a of result.attacks) expect(result.worstCase.robustAccuracy[i]).toBeLessThanOrEqual(a.robustAccuracy[i]!);
    });
    const broken = result.counterexamples.filter((c) => c.epsilon !== null && c.epsilon <= 0.1 + 1e-9).length;
    expect(result.worstCase.robustAccuracy[1]).toBeCloseTo(result.cleanAccuracy - broken / 24, 12);
    for (const c of result.counterexamples) {
      expect(c.adversarialClass).not.toBe(c.label);
      expect(c.linf).toBeLessThanOrEqual(c.epsilon! + 1e-6);
    }
  });

  test('the table holds the JSON numbers, within 100 columns', () => {
    const lines = out.split('\n');
    for (const line of lines) expect([...line].length).toBeLessThanOrEqual(100);
    const row = lines.find((l) => l.trim().startsWith('8/255'))!;
    expect(row.trim().split(/\s+/)).toEqual(['8/255', ...[...result.attacks.map((a) => a.robustAccuracy[0]!), result.worstCase.robustAccuracy[0]!].map((v) => v.toFixed(3))]);
    expect(out).toContain('worst case');
  });

  test('the JUnit XML is well formed, one passing case per attack and ε', () => {
    const xml = readFileSync(join(dir, 'cnn.xml'), 'utf8');
    expect(XMLValidator.validate(xml)).toBe(true);
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(xml) as { testsuites: { tests: string; failures: string; testsuite: { testcase: { name: string; failure?: unknown }[]; properties: { property: { name: string; value: string }[] } } } };
    expect(doc.testsuites.tests).toBe('6');
    expect(doc.testsuites.failures).toBe('0');
    expect(doc.testsuites.testsuite.testcase.map((c) => c.name)).toEqual(['fgsm at ε 8/255', 'fgsm at ε 0.1', 'pgd at ε 8/255', 'pgd at ε 0.1', 'worst case at ε 8/255', 'worst case at ε 0.1']);
    expect(doc.testsuites.testsuite.properties.property.find((p) => p.name === 'seed')?.value).toBe('3');
  });

  test('the same seed gives the same numbers', async () => {
    const again = await run('bench', CNN, '--data', 'mnist', '--n', '24', '--attacks', 'fgsm,pgd', '--eps', '0.1,8/255', '--seed', '3', '--json', join(dir, 'again.json'), '--no-progress');
    expect(again.code).toBe(0);
    const second = json('again.json');
    expect(second.attacks.map((a) => a.robustAccuracy)).toEqual(result.attacks.map((a) => a.robustAccuracy));
    expect(second.counterexamples).toEqual(result.counterexamples);
  });
});

describe('--fail-under', () => {
  test('exit 1 below it, with failing JUnit cases; exit 0 at or above it', async () => {
    const low = await run('bench', MLP, '--data', 'mnist', '--n', '20', '--attacks', 'fgsm', '--eps', '0.1', '--fail-under', '0.99', '--junit', join(dir, 'fail.xml'), '--json', join(dir, 'fail.json'), '--no-progress');
    const r = json('fail.json');
    expect(r.worstCase.robustAccuracy[0]).toBeLessThan(0.99);
    expect(low.code).toBe(1);
    expect(r.passed).toBe(false);
    expect(low.out).toContain('FAIL: worst-case robust accuracy falls below 0.99.');
    const xml = readFileSync(join(dir, 'fail.xml'), 'utf8');
    expect(XMLValidator.validate(xml)).toBe(true);
    expect(xml).toMatch(/<testsuites [^>]*failures="1"/);
    expect(xml).toContain('<failure message="robust accuracy');
    const at = r.worstCase.robustAccuracy[0]!;
    const high = await run('bench', MLP, '--data', 'mnist', '--n', '20', '--attacks', 'fgsm', '--eps', '0.1', '--fail-under', String(at), '--no-progress');
    expect(high.code).toBe(0);
  });
});

describe('an ONNX model', () => {
  test('runs query attacks through onnxruntime-node, and refuses gradient attacks with a clear error', async () => {
    const r = await run('bench', ONNX, '--data', 'mnist', '--n', '10', '--attacks', 'square', '--eps', '0.2', '--json', join(dir, 'onnx.json'), '--no-progress');
    expect(r.err).not.toMatch(/Error/);
    expect(r.code).toBe(0);
    const result = json('onnx.json');
    expect(result.model.format).toMatch(/^onnxruntime-node/);
    const ort = await import('onnxruntime-node');
    const session = await ort.InferenceSession.create(ONNX);
    const { onnxClassifier } = await import('../../src/index.js');
    const digits = mnistSamples(10);
    const report = await evaluate(onnxClassifier(session), digits, { attack: square(), epsilons: [0.2], seed: 0 });
    expect(result.attacks[0]!.robustAccuracy).toEqual(report.robustAccuracy);
    digits.inputs.dispose();
    await session.release();

    const refused = await run('bench', ONNX, '--data', 'mnist', '--n', '4', '--attacks', 'pgd', '--no-progress');
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/^robustest: /);
    expect(refused.err).toMatch(/gradient|differentiable/i);
  });
});

describe('usage errors exit 2 and say what was expected', () => {
  test.each([
    [['bench', CNN, '--data', 'mnist', '--attacks', 'nosuch'], /unknown attack "nosuch"/],
    [['bench', CNN], /required option '--data <path>'/],
    [['bench', CNN, '--data', 'no/such/dir'], /--data no\/such\/dir does not exist/],
    [['bench', 'model.h5', '--data', 'mnist'], /is not a model robustest loads/],
    [['bench', CNN, '--data', 'mnist', '--eps', 'big'], /"big" is not a budget/],
    [['bench', CNN, '--data', 'mnist', '--fail-under', '2'], /expected an accuracy in \[0, 1\]/],
  ])('%j', async (argv, message) => {
    const r = await run(...argv);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
  });
});

test('runBench leaves tf.memory().numTensors unchanged', async () => {
  const before = tf.memory().numTensors;
  await runBench(
    { model: MLP, data: 'mnist', n: 5, attacks: 'fgsm', epsilons: [0.1], norm: 'linf', seed: 0, bounds: [0, 1], failUnder: null, command: 'robustest bench' },
    { start() {}, update() {}, stop() {} },
  );
  expect(tf.memory().numTensors).toBe(before);
});

test('the command as a process: exit code 1 below --fail-under, the table on stdout, plain progress under CI', async () => {
  const tsx = join('node_modules', '.bin', 'tsx');
  const argv = ['src/cli/bin.ts', 'bench', MLP, '--data', 'mnist', '--n', '10', '--attacks', 'fgsm', '--eps', '0.3', '--fail-under', '1'];
  const failed = (await promisify(execFile)(tsx, argv, { env: { ...process.env, CI: 'true' } }).catch((e: unknown) => e)) as { code?: number; stdout: string; stderr: string };
  expect(failed.code).toBe(1);
  expect(failed.stdout).toContain('Robust accuracy of mlp on 10 inputs of MNIST test digits');
  expect(failed.stdout).toContain('FAIL: worst-case robust accuracy falls below 1.');
  expect(failed.stderr).toMatch(/fgsm at ε \[0\.3\]: 10\/10 samples/);
});

describe.skipIf(!hasNumpy())('an NCHW ONNX model on NCHW NumPy data', () => {
  test('--layout nchw transposes the .npz inputs to NHWC and feeds the model NCHW: the numbers are evaluate()’s', async () => {
    const npz = join(dir, 'rgb.npz');
    execFileSync('python3', ['-c', "import numpy as np, sys; r = np.random.default_rng(4); np.savez(sys.argv[1], x=r.random((12, 3, 6, 6), dtype=np.float32), y=r.integers(0, 2, 12))", npz]);
    const r = await run('bench', RGB, '--data', npz, '--layout', 'nchw', '--attacks', 'square', '--eps', '0.05,0.2', '--json', join(dir, 'rgb.json'), '--no-progress');
    expect(r.err).not.toMatch(/Error/);
    expect(r.code).toBe(0);
    const result = json('rgb.json');
    expect(result.data.shape).toEqual([6, 6, 3]);
    const { parseNpz } = await import('../../src/cli/npy.js');
    const arrays = parseNpz(readFileSync(npz), 'rgb.npz');
    const nchw = tf.tensor4d(Float32Array.from(arrays.x!.data), [12, 3, 6, 6]);
    const nhwc = tf.transpose(nchw, [0, 2, 3, 1]);
    const ort = await import('onnxruntime-node');
    const session = await ort.InferenceSession.create(RGB);
    const { onnxClassifier } = await import('../../src/index.js');
    const report = await evaluate(onnxClassifier(session, { layout: 'nchw' }), { inputs: nhwc, labels: Array.from(arrays.y!.data) }, { attack: square(), epsilons: [0.05, 0.2], seed: 0 });
    expect(result.cleanAccuracy).toBe(report.cleanAccuracy);
    expect(result.attacks[0]!.robustAccuracy).toEqual(report.robustAccuracy);
    tf.dispose([nchw, nhwc]);
    await session.release();
  });
});

function hasNumpy(): boolean {
  try {
    execFileSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
