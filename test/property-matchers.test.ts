import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as fc from 'fast-check';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBackend, perturbations, RobustestError, transforms, type Perturbation } from '../src/index.js';
import { toBeInvariantUnder, toBeRobustUnder } from '../matchers/property.js';
import { configureRobustest, resetRobustest } from '../matchers/config.js';
import { loadMnistModel, mnistSamples } from '../examples/mnist/models.js';

expect.extend({ toBeRobustUnder, toBeInvariantUnder } as never);

type Options = Record<string, unknown>;
interface PropertyMatchers {
  toBeRobustUnder(perturbation: fc.Arbitrary<Perturbation> | Perturbation, options: Options): Promise<void>;
  toBeInvariantUnder(transform: Perturbation, options: Options): Promise<void>;
}
const expectModel = (model: unknown) => expect(model) as unknown as PropertyMatchers & { not: PropertyMatchers };

let model: tf.LayersModel;
let digits: { inputs: tf.Tensor4D; labels: number[] };
let pictures: string;
/** Digits the model classifies correctly: the ones the matchers check. */
let correct: number;

beforeAll(async () => {
  await ensureBackend();
  model = await loadMnistModel('mlp');
  digits = mnistSamples(20);
  const predicted = tf.tidy(() => tf.argMax(model.predict(digits.inputs) as tf.Tensor, 1).arraySync() as number[]);
  correct = predicted.filter((c, i) => c === digits.labels[i]).length;
  pictures = mkdtempSync(join(tmpdir(), 'robustest-property-'));
  configureRobustest({ pictureDir: pictures });
});

afterAll(() => {
  resetRobustest();
  rmSync(pictures, { recursive: true, force: true });
  model.dispose();
  digits.inputs.dispose();
});

/** A matcher context like the one Vitest and Jest pass, for calling the matchers directly. */
const context = (isNot: boolean) => ({
  isNot,
  promise: '',
  utils: { matcherHint: (name: string) => `hint ${name}`, printReceived: (v: unknown) => `<${String(v)}>`, printExpected: (v: unknown) => `[${String(v)}]` },
  currentTestName: 'a property test',
  testPath: join(pictures, 'digits.test.ts'),
});

async function failure(assertion: Promise<void>): Promise<string> {
  const error = await assertion.then(
    () => null,
    (e: unknown) => e as Error,
  );
  expect(error).not.toBeNull();
  return (error as Error).message.replace(/\u001b\[[0-9;]*m/g, '');
}

describe('toBeRobustUnder', () => {
  it('fails on heavy noise with the shrunk counterexample, its sizes, the replay seed and path, and a picture', async () => {
    const message = await failure(expectModel(model).toBeRobustUnder(perturbations.gaussianNoise(0.8), { on: digits, numRuns: 50, seed: 1 }));
    expect(message).toContain('toBeRobustUnder');
    expect(message).toMatch(/Expected sequential_\d+ to be robust under/);
    expect(message).toContain('to be robust under Gaussian noise with σ ≤ 0.8: every checked input keeps its class.');
    expect(message).toMatch(/Expected: "≥ 100%" of checked inputs keep their class/);
    expect(message).toMatch(new RegExp(`Received: "\\d+(\\.\\d)?%" \\(\\d+ of ${correct} checked inputs kept their class`));
    expect(message).toMatch(/Counterexample: input \d+ \(label \d\): class \d \([01]\.\d{3}\) → \d \([01]\.\d{3}\)/);
    expect(message).toMatch(/size {11}L∞ 0\.\d+, L2 [\d.]+, L0 \d+/);
    expect(message).toMatch(/perturbation {3}Gaussian noise σ=0\.\d+ \(seed \d+\)/);
    expect(message).toMatch(/parameters {5}\{"sigma":0\.\d+,"seed":\d+\}/);
    expect(message).toMatch(/found {10}at run \d+ of 50, shrunk \d+ times?/);
    expect(message).toMatch(/replay {9}\{ seed: 1, path: "\d+(:\d+)+" \}/);
    expect(message).toMatch(new RegExp(`checked {8}${correct} of 20 inputs( \\(${20 - correct} misclassified, skipped\\))?\n`));
    const picture = message.match(/picture {8}(\S+)/)![1]!;
    expect(isAbsolute(picture)).toBe(true);
    const path = resolve(picture);
    expect(path.startsWith(pictures)).toBe(true);
    expect(existsSync(path)).toBe(true);
    const png = PNG.sync.read(readFileSync(path));
    expect(png.width).toBeGreaterThan(3 * 84);
    expect(png.height).toBeGreaterThan(84);
  });

  it('replays the printed { seed, path } to the same counterexample', async () => {
    const first = await failure(expectModel(model).toBeRobustUnder(perturbations.blur(3), { on: digits, numRuns: 50, seed: 6 }));
    const path = first.match(/path: "([\d:]+)"/)![1]!;
    const replay = await failure(expectModel(model).toBeRobustUnder(perturbations.blur(3), { on: digits, seed: 6, path }));
    const line = (m: string) => m.match(/Counterexample: .*/)![0];
    expect(line(replay)).toBe(line(first));
    expect(replay).toContain(`path: "${path}"`);
    expect(replay).toContain(`replaying path "${path}"`);
  });

  it('passes when nothing breaks, and `.not` then says why it failed', async () => {
    await expectModel(model).toBeRobustUnder(perturbations.gaussianNoise(0), { on: digits, numRuns: 20 });
    const message = await failure(expectModel(model).not.toBeRobustUnder(perturbations.gaussianNoise(0), { on: digits, numRuns: 20 }));
    expect(message).toContain('.not.toBeRobustUnder');
    expect(message).toContain('not to be robust under Gaussian noise with σ ≤ 0,');
    expect(message).toContain('but every checked input kept its class.');
    expect(message).toContain(`Received: "100%" (${correct} of ${correct} checked inputs kept their class)`);
    expect(message).toContain('20 of 20 perturbations evaluated, seed 0');
  });

  it('`.not` passes when the model breaks', async () => {
    await expectModel(model).not.toBeRobustUnder(perturbations.gaussianNoise(0.8), { on: digits, numRuns: 20 });
  });

  it('honours atLeast', async () => {
    const options = { on: digits, numRuns: 20, seed: 4 };
    const measured = await toBeRobustUnder.call(context(false), model, perturbations.gaussianNoise(0.8), { ...options, atLeast: 0 });
    const fraction = measured.meta!.robustest!.record.robustAccuracy;
    expect(fraction).toBeLessThan(1);
    await expectModel(model).toBeRobustUnder(perturbations.gaussianNoise(0.8), { ...options, atLeast: fraction });
    const above = Math.min(1, fraction + 0.5 / correct);
    const message = await failure(expectModel(model).toBeRobustUnder(perturbations.gaussianNoise(0.8), { ...options, atLeast: above }));
    expect(message).toContain(`at least ${(100 * above).toFixed(1).replace(/\.0$/, '')}% of checked inputs keep their class`);
  });

  it('rejects bad arguments with the engine’s errors', async () => {
    const error = await expectModel(model)
      .toBeRobustUnder(perturbations.linf(0.1), { on: digits, numRuns: -1 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RobustestError);
    expect((error as Error).message).toMatch(/numRuns must be a positive integer/);
  });
});

describe('toBeInvariantUnder', () => {
  it('fails listing the inputs a transform flips, with a picture', async () => {
    const message = await failure(expectModel(model).toBeInvariantUnder(transforms.translate(3), { on: digits }));
    expect(message).toMatch(/Expected sequential_\d+'s predictions to be invariant under translation dx=3 dy=0\./);
    expect(message).toMatch(new RegExp(`Received: "\\d+(\\.\\d)?%" \\(\\d+ of ${correct} checked inputs kept their class`));
    expect(message).toMatch(/input \d+ \(label \d\): class \d \([01]\.\d{3}\) → \d \([01]\.\d{3}\), L∞ [\d.]+, L2 [\d.]+, L0 \d+/);
    expect(message).toMatch(/… and \d+ more/);
    expect(message).toMatch(/picture {8}\S+--tobeinvariantunder-[0-9a-f]{8}\.png/);
  });

  it('passes for the identity, and `.not` then fails saying so', async () => {
    await expectModel(model).toBeInvariantUnder(transforms.translate(0), { on: digits });
    const message = await failure(expectModel(model).not.toBeInvariantUnder(transforms.translate(0), { on: digits }));
    expect(message).toMatch(/Expected sequential_\d+'s predictions to change under translation dx=0 dy=0,/);
    expect(message).toContain('but no checked input changed class.');
  });
});

describe('the matcher functions themselves', () => {
  it('never invert pass for .not, and record the assertion for reporters', async () => {
    for (const isNot of [false, true]) {
      const broken = await toBeRobustUnder.call(context(isNot), model, perturbations.gaussianNoise(0.8), { on: digits, numRuns: 20, seed: 1 });
      expect(broken.pass).toBe(false);
      const record = broken.meta!.robustest!.record;
      expect(record.passed).toBe(isNot);
      expect(record.matcher).toBe('toBeRobustUnder');
      expect(record.attack).toBe('Gaussian noise with σ ≤ 0.8');
      expect(record.cleanAccuracy).toBe(correct / 20);
      expect(record.robustAccuracy).toBeLessThan(1);
      expect(record.required).toBe(isNot ? '< 1.000' : '≥ 1.000');
      expect(record.test).toBe('a property test');
      // Pictures are drawn for failures that are shown, not for `.not` assertions that hold.
      expect(broken.meta!.robustest!.picture === null).toBe(isNot);
      const kept = await toBeInvariantUnder.call(context(isNot), model, transforms.brightness(0), { on: digits });
      expect(kept.pass).toBe(true);
      expect(kept.meta!.robustest!.record.passed).toBe(!isNot);
      // A passing result carries the message `.not` shows.
      expect(kept.message()).toContain("predictions to change under brightness δ=0,");
    }
  });
});

describe('the arbitraries in a hand-written fast-check property', () => {
  /** The README example: a property of the user's own, checked with fc.assert. */
  async function keepsClasses(p: Perturbation): Promise<boolean> {
    const [clean, perturbed] = tf.tidy(() => {
      const x = p.apply(digits.inputs, [0, 1]);
      return [tf.argMax(model.predict(digits.inputs) as tf.Tensor, 1), tf.argMax(model.predict(x) as tf.Tensor, 1)];
    });
    const same = tf.tidy(() => tf.all(tf.equal(clean!, perturbed!)));
    const ok = (await same.data())[0] === 1;
    tf.dispose([clean!, perturbed!, same]);
    return ok;
  }

  it('fc.assert passes for weak brightness changes', async () => {
    await fc.assert(fc.asyncProperty(perturbations.brightness(0.02), keepsClasses), { seed: 1, numRuns: 25 });
  });

  it('fc.assert fails on heavy noise and prints the shrunk perturbation readably', async () => {
    const error = await fc
      .assert(fc.asyncProperty(perturbations.gaussianNoise(0.8), keepsClasses), { seed: 1, numRuns: 25 })
      .catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/Counterexample: \[Gaussian noise σ=0\.\d+ \(seed \d+\)\]/);
    expect((error as Error).message).toMatch(/Shrunk \d+ time/);
  });
});
