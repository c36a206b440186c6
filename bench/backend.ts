/**
 * One backend's share of `npm run bench` (the backend comes from ROBUSTEST_BACKEND, set by
 * run.ts): for each bundled model, forward and gradient cost, the PGD-40 curve against the
 * plain tf.grad baseline, and C&W and DeepFool with the engine against the same attacks on
 * tf.grad. Every ratio compares two measurements taken in this process.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { carliniWagner, classifier, deepfool, ensureBackend, evaluate, pgd, type Attack, type Classifier, type RobustnessReport } from '../src/index.js';
import { attackLoss } from '../src/attacks/losses.js';
import { mnistSamples, type MnistModelName } from '../examples/mnist/models.js';
import { benchModel, describeArchitecture } from './models.js';
import { plainGradient, plainPgdCurve } from './baseline.js';
import { accuracies, count, interleavedMedians, medianMs, ms, percent, ratio, s, seconds } from './timing.js';

const EPSILONS = [0.02, 0.05, 0.1, 0.15, 0.2, 0.3];
const PGD = { steps: 40, relativeStepSize: 0.01 / 0.3 };
const SEED = 7;
const CURVE_DIGITS = 500;
const MINIMIZATION_DIGITS = 100;

interface Options {
  models: MnistModelName[];
  /** Parts to skip: 'baseline' (plain curve), 'minimization' (C&W, DeepFool), 'autodiff' (their tf.grad runs). */
  skip: Set<string>;
  /** Also the runs that take many minutes (see run.ts). */
  full: boolean;
}

function options(): Options {
  const raw = JSON.parse(process.env.BENCH_OPTIONS ?? '{}') as { models?: MnistModelName[]; skip?: string[]; full?: boolean };
  return { models: raw.models ?? ['mlp', 'cnn'], skip: new Set(raw.skip ?? []), full: raw.full === true };
}

/** Plain tf.grad cost per sample, from the per-batch measurement; the minimization lines compare with it. */
let plainPerSampleMs = NaN;

const line = (text: string) => process.stdout.write(`${text}\n`);

function failure(error: unknown): string {
  return `fails: ${String((error as Error)?.message ?? error).split('\n')[0]}`;
}

/** Median L2 over the samples the model got right (a failed attack counts as ∞). */
function medianDistance(distances: readonly number[]): number {
  const attacked = distances.filter((d) => d > 0).sort((a, b) => a - b);
  return attacked.length === 0 ? NaN : attacked[Math.floor(attacked.length / 2)]!;
}

async function costs(clf: Classifier, model: tf.LayersModel, x: tf.Tensor, labels: Int32Array): Promise<void> {
  const loss = attackLoss('ce', labels, null);
  // Timed as attacks see it: inside one engine scope, where derived weights (transposed, flipped
  // kernels) are built once; outside any scope they are rebuilt per call (noted below).
  tf.engine().startScope();
  const [forward, gradient, predict] = await interleavedMedians([
    async () => {
      const z = await clf.logits(x);
      z.dataSync();
      z.dispose();
    },
    async () => {
      const r = await clf.valueAndGradient(x, loss);
      r.gradient.dataSync();
      tf.dispose([r.logits, r.loss, r.gradient]);
    },
    () => tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync()),
  ]);
  tf.engine().endScope();
  const [alone] = await interleavedMedians([
    async () => {
      const r = await clf.valueAndGradient(x, loss);
      r.gradient.dataSync();
      tf.dispose([r.logits, r.loss, r.gradient]);
    },
  ]);
  line(`  forward, ${x.shape[0]} digits:   ${ms(forward)}   (model.predict: ${ms(predict)})`);
  line(`  gradient, ${x.shape[0]} digits:  ${ms(gradient)} = ${ratio(gradient / forward)} forward   [${clf.gradientPath}; ${ms(alone)} outside a robustest call]`);
  try {
    const plain = await medianMs(() => plainGradient(model, x, labels).dataSync(), 5, 1);
    plainPerSampleMs = plain / x.shape[0];
    line(`  plain tf.grad through model.predict: ${ms(plain)} = ${ratio(plain / forward)} forward; the engine is ${ratio(plain / gradient)} faster`);
  } catch (error) {
    plainPerSampleMs = NaN;
    line(`  plain tf.grad through model.predict: ${failure(error)}`);
  }
}

async function curve(clf: Classifier, model: tf.LayersModel, x: tf.Tensor, labels: Int32Array, skip: Set<string>, slow: boolean): Promise<void> {
  const attack = pgd({ norm: 'linf', ...PGD, randomStart: true });
  // Warm-up (compilation, kernels' first runs) outside the measurement.
  await evaluate(clf, { inputs: tf.slice(x, 0, 20), labels: labels.slice(0, 20) }, { attack: pgd({ steps: 2 }), epsilons: [0.1], seed: SEED });
  const ours = await seconds(() => evaluate(clf, { inputs: x, labels }, { attack, epsilons: EPSILONS, seed: SEED }));
  const report = ours.value;
  const full = EPSILONS.length * PGD.steps * x.shape[0];
  line(`  PGD-40 L∞ curve, ${EPSILONS.length} ε, ${x.shape[0]} digits (ε = ${EPSILONS.join(', ')})`);
  line(`    robustest:  ${s(ours.seconds)}, ${count(report.gradientEvaluations)} gradient evaluations (early stop and ε-nesting saved ${percent(1 - report.gradientEvaluations / full)} of ${count(full)})`);
  line(`                clean accuracy ${report.cleanAccuracy.toFixed(3)}, robust accuracy ${accuracies(report.robustAccuracy)}`);
  if (!slow) {
    const sharded = await seconds(() => evaluate(clf, { inputs: x, labels }, { attack, epsilons: EPSILONS, seed: SEED, workers: 2 }));
    line(`    robustest on ${sharded.value.workers} worker threads: ${s(sharded.seconds)} = ${ratio(ours.seconds / sharded.seconds)} the speed of one thread (thread start-up included); same report: ${sameReport(sharded.value, report)}`);
    await autoThreadsLine(ours.seconds, report, () => evaluate(clf, { inputs: x, labels }, { attack, epsilons: EPSILONS, seed: SEED, workers: 'auto' }));
  }
  if (skip.has('baseline') || slow) {
    const minutes = (plainPerSampleMs * full) / 60_000;
    line(`    plain tf.grad: not run (${skip.has('baseline') ? '--skip baseline' : 'takes long here; --full runs it'}); at the ${ms(plainPerSampleMs * x.shape[0])} per step measured above it would take ≈ ${minutes.toFixed(1)} min`);
    return;
  }
  try {
    const plain = await seconds(async () => plainPgdCurve(model, x, labels, EPSILONS, { ...PGD, seed: SEED }));
    line(`    plain tf.grad: ${s(plain.seconds)}, ${count(plain.value.gradientEvaluations)} gradient evaluations, robust accuracy ${accuracies(plain.value.robustAccuracy)}`);
    line(`    → robustest is ${ratio(plain.seconds / ours.seconds)} faster`);
  } catch (error) {
    line(`    plain tf.grad: ${failure(error)}`);
  }
}

/** 'yes' when two reports agree in everything but timing and thread count. */
function sameReport(a: RobustnessReport, b: RobustnessReport): string {
  const timeless = (r: RobustnessReport) => JSON.stringify({ ...r, seconds: 0, workers: 0 });
  return timeless(a) === timeless(b) ? 'yes' : 'NO';
}

/** The same evaluation with workers: 'auto', against its one-thread run. */
async function autoThreadsLine(oneThreadSeconds: number, report: RobustnessReport, run: () => Promise<RobustnessReport>): Promise<void> {
  const auto = await seconds(run);
  const outcome =
    auto.value.workers === 1
      ? `stayed on one thread: ${s(auto.seconds)}`
      : `started ${auto.value.workers} threads: ${s(auto.seconds)} = ${ratio(oneThreadSeconds / auto.seconds)} the speed of one thread`;
  line(`    robustest with workers 'auto' ${outcome}; same report: ${sameReport(auto.value, report)}`);
}

async function minimization(
  name: string,
  make: () => Attack,
  clf: Classifier,
  model: tf.LayersModel,
  x: tf.Tensor,
  labels: Int32Array,
  compare: boolean,
  threads = false,
): Promise<void> {
  const samples = { inputs: x, labels };
  const ours = await seconds(() => make().run(clf, samples, { seed: SEED }));
  ours.value.adversarials.dispose();
  const evaluations = ours.value.gradientEvaluations;
  const found = ours.value.success.filter(Boolean).length;
  const perEvaluation = (ours.seconds * 1000) / evaluations;
  line(`  ${name}, ${x.shape[0]} digits: ${s(ours.seconds)}, ${count(evaluations)} gradient evaluations, median L2 ${medianDistance(ours.value.distances).toFixed(3)} (${found}/${x.shape[0]} adversarial or misclassified)`);
  line(
    `    ${(perEvaluation * 1000).toFixed(1)} µs per gradient evaluation, all attack work included; a plain tf.grad costs ${(plainPerSampleMs * 1000).toFixed(1)} µs per sample (measured above): ${ratio(plainPerSampleMs / perEvaluation)} more`,
  );
  if (threads) {
    const epsilons = [1, 2];
    const one = await seconds(() => evaluate(clf, samples, { attack: make(), epsilons, seed: SEED }));
    line(`    as a curve with evaluate(): ${s(one.seconds)} on one thread`);
    await autoThreadsLine(one.seconds, one.value, () => evaluate(clf, samples, { attack: make(), epsilons, seed: SEED, workers: 'auto' }));
  }
  if (!compare) return;
  // The same attack with every gradient from tf.grad: the model wrapped as a plain function.
  const viaAutodiff = classifier((v: tf.Tensor) => model.predict(v) as tf.Tensor, { name: `${model.name} via tf.grad` });
  try {
    const theirs = await seconds(() => make().run(viaAutodiff, samples, { seed: SEED }));
    theirs.value.adversarials.dispose();
    line(`    the same attack with tf.grad gradients: ${s(theirs.seconds)} → the engine is ${ratio(theirs.seconds / ours.seconds)} faster`);
  } catch (error) {
    line(`    the same attack with tf.grad gradients: ${failure(error)}`);
  }
}

async function main(): Promise<void> {
  const { models, skip, full } = options();
  const backend = await ensureBackend();
  // The cpu backend runs the plain CNN curve and the minimization attacks in tens of minutes.
  const slow = backend === 'cpu' && !full;
  line(`\n== backend ${backend} (tfjs ${tf.version.tfjs}, node ${process.version}) ==`);
  for (const name of models) {
    const { model, weights } = await benchModel(name);
    const clf = classifier(model, { name });
    const digits = mnistSamples(CURVE_DIGITS);
    const labels = Int32Array.from(digits.labels);
    line(`\n${name} (${weights}): ${describeArchitecture(model)}`);
    await costs(clf, model, digits.inputs, labels);
    await curve(clf, model, digits.inputs, labels, skip, slow && name === 'cnn');
    if (skip.has('minimization') || slow) {
      line(`  C&W and DeepFool: not run (${slow ? 'cpu: --full runs them' : '--skip minimization'})`);
    } else {
      const x = tf.slice(digits.inputs, 0, MINIMIZATION_DIGITS);
      const y = labels.slice(0, MINIMIZATION_DIGITS);
      const compare = !skip.has('autodiff');
      await minimization(`${carliniWagner().describe()}, defaults`, () => carliniWagner(), clf, model, x, y, compare && full, true);
      await minimization(`${deepfool().describe()}, defaults`, () => deepfool(), clf, model, x, y, compare);
      x.dispose();
    }
    digits.inputs.dispose();
    model.dispose();
  }
}

await main();
