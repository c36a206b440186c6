/**
 * Counterexample pictures: every assertion gets its own file (long, non-Latin and nearly equal
 * test names included), an unwritable picture folder never replaces the verdict, and the
 * robustness and property matchers share one folder layout and one caption style.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { PNG } from 'pngjs';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { ensureBackend, evaluate, fgsm, perturbations, transforms } from '../src/index.js';
import { toBeRobustAgainst, type MatcherContext, type MatcherResult } from '../matchers/index.js';
import { toBeInvariantUnder, toBeRobustUnder } from '../matchers/property.js';
import { configureRobustest, resetRobustest } from '../matchers/config.js';
import { picturePath, slug } from '../matchers/location.js';
import { counterexamples, pictureRows, type DrawnExample } from '../src/report/counterexamples.js';
import { renderPicture } from '../src/report/picture.js';
import { fuzz } from '../src/property/fuzz.js';
import { checkInvariance } from '../src/property/invariance.js';
import { loadMnistModel, mnistSamples } from '../examples/mnist/models.js';
import { stripes, stripeSamples } from './fixtures/projects/stripes-model.js';

const utils = {
  matcherHint: (name: string) => `expect(model).${name}()`,
  printReceived: (v: unknown) => String(v),
  printExpected: (v: unknown) => String(v),
};

let root: string;
let pictures: string;
let cases = 0;

/** A matcher context as a runner passes it; `task` stands for one attempt of one test. */
function ctx(name: string, task: object = {}, isNot = false): MatcherContext {
  return { isNot, promise: '', utils, testPath: join(root, 'digits.test.ts'), currentTestName: name, task };
}

const against = (c: MatcherContext, atLeast = 0.9): Promise<MatcherResult> => toBeRobustAgainst.call(c, stripes, fgsm(), 0.1, { on: stripeSamples(), atLeast });
const pictureOf = (result: MatcherResult): string | null => result.meta?.robustest?.picture ?? null;

beforeAll(async () => {
  await ensureBackend();
  root = mkdtempSync(join(tmpdir(), 'robustest-pictures-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));
afterEach(() => resetRobustest());

function freshPictureDir(): string {
  pictures = join(root, `pictures-${cases++}`);
  configureRobustest({ pictureDir: pictures });
  return pictures;
}

describe('every assertion gets its own picture', () => {
  const long = 'stripes > a robustness requirement described at great length so that it runs past eighty characters';
  const names = [
    `${long} (first)`,
    `${long} (second)`,
    `${long} (third)`,
    '数字',
    '测试',
    '数字 > 测试',
    'keeps 90% at ε = 0.1',
    'keeps 90% at ε=0.1',
    'keeps 90% at ε = 0.1 ',
    'Keeps 90% at ε = 0.1',
    'a/b',
    'a b',
    'a_b',
    '',
    '???',
  ];

  test('15 failing tests with colliding slugs write 15 files, each message naming its own', async () => {
    freshPictureDir();
    const paths: string[] = [];
    for (const name of names) {
      const result = await against(ctx(name));
      expect(result.pass).toBe(false);
      const path = pictureOf(result)!;
      expect(existsSync(path)).toBe(true);
      expect(result.message()).toContain(`Picture: ${path}`);
      paths.push(path);
    }
    expect(new Set(paths).size).toBe(names.length);
    expect(readdirSync(join(pictures, 'digits.test.ts'))).toHaveLength(names.length);
    for (const path of paths) expect(PNG.sync.read(readFileSync(path)).width).toBeGreaterThan(0);
  });

  test('names stay readable: a slug of the test and the assertion, then a short hash', async () => {
    freshPictureDir();
    const path = pictureOf(await against(ctx('数字 > keeps 90% at ε = 0.1')))!;
    expect(dirname(path)).toBe(join(pictures, 'digits.test.ts'));
    expect(basename(path)).toMatch(/^数字-keeps-90-at-eps-0\.1--fgsm-0\.1-[0-9a-f]{8}\.png$/);
    const longest = pictureOf(await against(ctx('测'.repeat(200))))!;
    expect(Buffer.byteLength(basename(longest))).toBeLessThanOrEqual(255);
  });

  test('two failing assertions in one test get two files; the same test run again rewrites its own', async () => {
    freshPictureDir();
    const attempt = {};
    const first = pictureOf(await against(ctx('twice', attempt)))!;
    const second = pictureOf(await against(ctx('twice', attempt)))!;
    expect(first).not.toBe(second);
    const rerun = {};
    expect(pictureOf(await against(ctx('twice', rerun)))).toBe(first);
    expect(pictureOf(await against(ctx('twice', rerun)))).toBe(second);
    expect(readdirSync(join(pictures, 'digits.test.ts'))).toHaveLength(2);
  });

  test('test files with the same name in different folders do not share pictures under an absolute pictureDir', () => {
    const dir = join(root, 'shared-pictures');
    const a = picturePath({ ...ctx('same test'), testPath: join(root, 'a', 'model.test.ts') }, dir, 'fgsm 0.1');
    const b = picturePath({ ...ctx('same test'), testPath: join(root, 'b', 'model.test.ts') }, dir, 'fgsm 0.1');
    expect(dirname(a)).toBe(dirname(b));
    expect(a).not.toBe(b);
  });

  test('slug keeps letters of every script and cuts at a byte budget without splitting a character', () => {
    expect(slug('toBeRobustAgainst > keeps 90% at ε = 0.1')).toBe('toberobustagainst-keeps-90-at-eps-0.1');
    expect(slug('数字')).toBe('数字');
    expect(slug('Café crème')).toBe('cafe-creme');
    expect(slug('परीक्षण')).toBe('परीक्षण');
    expect(slug('///')).toBe('test');
    expect(slug('数'.repeat(40), 10)).toBe('数数数');
  });
});

describe('an unwritable picture folder', () => {
  function blockedPictureDir(): string {
    const file = join(root, `a-file-${cases++}`);
    writeFileSync(file, 'not a folder');
    configureRobustest({ pictureDir: join(file, 'pictures') });
    return file;
  }

  test('toBeRobustAgainst still gives its verdict, and its message says no picture was written and why', async () => {
    blockedPictureDir();
    const before = tf.memory().numTensors;
    const result = await against(ctx('blocked'));
    expect(tf.memory().numTensors).toBe(before);
    expect(result.pass).toBe(false);
    const message = result.message();
    expect(message).toContain('Received robust accuracy:   0.4');
    expect(message).toMatch(/No picture was written to \S+pictures\/digits\.test\.ts\/blocked--fgsm-0\.1-[0-9a-f]{8}\.png \(ENOTDIR: not a directory, mkdir '[^']+'\)\./);
    expect(message).not.toContain('Picture:');
    expect(pictureOf(result)).toBeNull();
    expect(result.meta?.robustest?.record.passed).toBe(false);
  });

  test('.not keeps its verdict too', async () => {
    blockedPictureDir();
    const result = await toBeRobustAgainst.call(ctx('blocked not', {}, true), stripes, fgsm(), 0.1, { on: stripeSamples(), atLeast: 0.3 });
    expect(result.pass).toBe(true);
    expect(result.message()).toContain('No picture was written to');
  });

  test('a passing assertion writes nothing and says nothing about pictures', async () => {
    blockedPictureDir();
    const result = await against(ctx('passes'), 0.4);
    expect(result.pass).toBe(true);
    expect(result.message()).not.toMatch(/picture/i);
  });
});

describe('one layout and one caption style for every matcher', () => {
  let model: tf.LayersModel;
  let digits: { inputs: tf.Tensor4D; labels: number[] };

  beforeAll(async () => {
    model = await loadMnistModel('mlp');
    digits = mnistSamples(20);
  });
  afterAll(() => {
    model.dispose();
    digits.inputs.dispose();
  });

  const asAbsolute = (path: string): string => (path.startsWith('/') ? path : join(process.cwd(), path));

  test('toBeRobustAgainst: the rows of its broken samples, captioned by pictureRows', async () => {
    freshPictureDir();
    const on = stripeSamples();
    const path = pictureOf(await against(ctx('captions')))!;
    const report = await evaluate(stripes, on, { attack: fgsm(), epsilons: [0.1], seed: 0 });
    const broken = counterexamples(report, Float32Array.from((on.inputs as number[][][][]).flat(3)), 0.1);
    const examples: DrawnExample[] = broken.map((c) => ({ index: c.index, from: c.label, to: c.adversarialClass, confidence: c.adversarialConfidence, original: c.original!, changed: c.adversarial }));
    expect(readFileSync(path).equals(renderPicture(pictureRows(examples.slice(0, 4), report.bounds), { shape: report.inputShape, bounds: report.bounds }))).toBe(true);
  });

  test('toBeRobustUnder: same folder as toBeRobustAgainst, same captions', async () => {
    freshPictureDir();
    const options = { on: digits, numRuns: 30, seed: 1 };
    const result = await toBeRobustUnder.call(ctx('noise'), model, perturbations.gaussianNoise(0.8), options);
    expect(result.pass).toBe(false);
    const path = asAbsolute(pictureOf(result)!);
    expect(dirname(path)).toBe(join(pictures, 'digits.test.ts'));
    expect(basename(path)).toMatch(/^noise--toberobustunder-[0-9a-f]{8}\.png$/);
    const report = await fuzz(model, perturbations.gaussianNoise(0.8), { ...options, batchSize: undefined });
    const c = report.counterexample!;
    const rows = pictureRows([{ index: c.input, from: c.before.class, to: c.after.class, confidence: c.after.confidence, original: c.original, changed: c.perturbed }], report.bounds);
    expect(rows[0]!.caption[0]).toMatch(/^#\d+ {2}class \d → \d \(p [01]\.\d{3}\)$/);
    expect(readFileSync(path).equals(renderPicture(rows, { shape: report.inputShape, bounds: report.bounds }))).toBe(true);
  });

  test('toBeInvariantUnder: same folder, same captions, one row per changed input', async () => {
    freshPictureDir();
    const result = await toBeInvariantUnder.call(ctx('shifted'), model, transforms.translate(3), { on: digits });
    expect(result.pass).toBe(false);
    const path = asAbsolute(pictureOf(result)!);
    expect(dirname(path)).toBe(join(pictures, 'digits.test.ts'));
    expect(basename(path)).toMatch(/^shifted--tobeinvariantunder-[0-9a-f]{8}\.png$/);
    const report = await checkInvariance(model, transforms.translate(3), { on: digits });
    const rows = pictureRows(
      report.changes.slice(0, 4).map((c) => ({ index: c.input, from: c.before.class, to: c.after.class, confidence: c.after.confidence, original: c.original, changed: c.perturbed })),
      report.bounds,
    );
    expect(readFileSync(path).equals(renderPicture(rows, { shape: report.inputShape, bounds: report.bounds }))).toBe(true);
  });

  test('pictureRows captions: sample, class change with confidence, sizes and the amplification shown', () => {
    const original = new Float32Array(16).fill(0.5);
    const changed = original.map((v, i) => (i < 4 ? v + 0.1 : v));
    const [row] = pictureRows([{ index: 12, from: 3, to: 8, confidence: 0.91234, original, changed }], [0, 1]);
    expect(row!.caption).toEqual(['#12  class 3 → 8 (p 0.912)', 'L∞ 0.100  L2 0.200  L0 4  shown ×5.00']);
    expect(pictureRows([{ index: 0, from: 1, to: 0, confidence: null, original, changed: original }], [0, 1])[0]!.caption).toEqual(['#0  class 1 → 0', 'L∞ 0  L2 0  L0 0  shown ×1.00']);
  });

  test('the property matchers keep their verdict when the folder cannot be written, and say no picture was written', async () => {
    const file = join(root, `a-file-${cases++}`);
    writeFileSync(file, 'not a folder');
    configureRobustest({ pictureDir: join(file, 'pictures') });
    const result = await toBeInvariantUnder.call(ctx('blocked shift'), model, transforms.translate(3), { on: digits });
    expect(result.pass).toBe(false);
    expect(pictureOf(result)).toBeNull();
    expect(result.message()).toMatch(/picture {8}none written to \S+\.png \(ENOTDIR: not a directory/);
    const fuzzed = await toBeRobustUnder.call(ctx('blocked noise'), model, perturbations.gaussianNoise(0.8), { on: digits, numRuns: 30, seed: 1 });
    expect(fuzzed.pass).toBe(false);
    expect(pictureOf(fuzzed)).toBeNull();
    expect(fuzzed.message()).toMatch(/picture {8}none written to \S+\.png \(ENOTDIR/);
  });

});
