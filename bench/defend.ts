/**
 * The defences on the bundled MNIST models, in one run on robustest's default backend:
 *
 * - robust accuracy of the plain MLP and of mlp-at (the same architecture trained by
 *   adversarialTraining at L∞ ε = 0.2) under autoAttack() (standard: APGD-CE, APGD-T, FAB-T,
 *   Square) on the test digits, with the ratio of the two measured here, and the goal of the
 *   issue that asked for mlp-at (a PyTorch PGD-trained MLP of the same size reaches 0.57, 0.34
 *   and 0.77 under the reference AutoAttack, a figure quoted from that issue, not measured here);
 * - the feature-squeezing detector on the CNN: detection rate of PGD adversarials without and
 *   with the adaptive attack, and what the adaptive attack costs relative to the plain one.
 *
 *   npx tsx bench/defend.ts [--samples 200] [--detection-samples 100] [--skip training,detection]
 */
import * as tf from '@tensorflow/tfjs';
import { autoAttack, ensureBackend, evaluate, featureSqueezing, pgd, squeezers } from '../src/index.js';
import { measureDetection } from '../src/defend/index.js';
import { loadMnistModel, mnistSamples } from '../examples/mnist/models.js';
import { loadHardenedMlp } from './defend-models.js';
import { ratio } from './timing.js';

function flag(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && process.argv[at + 1] ? process.argv[at + 1]! : fallback;
}

const samples = Number(flag('samples', '200'));
const detectionSamples = Number(flag('detection-samples', '100'));
const skip = flag('skip', '').split(',');
const SEED = 0;
const EPSILONS = [0.1, 0.2];
const GOAL = { 0.1: 0.6, 0.2: 0.38, clean: 0.8 } as const;
const f3 = (v: number): string => v.toFixed(3);

async function training(): Promise<void> {
  const digits = mnistSamples(samples);
  const results: Record<string, { clean: number; robust: number[]; seconds: number }> = {};
  for (const name of ['mlp', 'mlp-at'] as const) {
    const model = name === 'mlp' ? await loadMnistModel('mlp') : await loadHardenedMlp();
    const started = performance.now();
    const report = await evaluate(model, digits, { attack: autoAttack(), epsilons: EPSILONS, seed: SEED });
    results[name] = { clean: report.cleanAccuracy, robust: report.robustAccuracy, seconds: (performance.now() - started) / 1000 };
    model.dispose();
    console.log(
      `  ${name.padEnd(6)} clean ${f3(report.cleanAccuracy)}  AutoAttack L∞ robust ${EPSILONS.map((e, i) => `ε=${e} ${f3(report.robustAccuracy[i]!)}`).join('  ')}  (${results[name].seconds.toFixed(0)} s)`,
    );
  }
  digits.inputs.dispose();
  const plain = results.mlp!;
  const hardened = results['mlp-at']!;
  console.log(`  mlp-at / mlp robust accuracy: ${EPSILONS.map((e, i) => `ε=${e} ${plain.robust[i]! > 0 ? ratio(hardened.robust[i]! / plain.robust[i]!) : `${f3(hardened.robust[i]!)} vs 0`}`).join('  ')}; clean ${ratio(hardened.clean / plain.clean)}`);
  const met = hardened.robust[0]! >= GOAL[0.1] && hardened.robust[1]! >= GOAL[0.2] && hardened.clean >= GOAL.clean;
  console.log(
    `  goal ε=0.1 ≥ ${GOAL[0.1]}, ε=0.2 ≥ ${GOAL[0.2]}, clean ≥ ${GOAL.clean}: ${met ? 'met' : 'not met'} ` +
      `(PyTorch PGD-trained MLP of the same size under reference AutoAttack, quoted: 0.57, 0.34, clean 0.77)`,
  );
}

async function detection(): Promise<void> {
  const model = await loadMnistModel('cnn');
  const calibration = mnistSamples(600).inputs;
  const calibrateOn = calibration.slice(detectionSamples, 600 - detectionSamples);
  const detector = await featureSqueezing(model, { squeezers: [squeezers.bitDepth(1), squeezers.median(2)], falsePositiveRate: 0.05, calibrateOn });
  const on = mnistSamples(detectionSamples);
  console.log(`  detector: ${detector.describe()}`);
  for (const epsilon of [0.1, 0.2]) {
    let started = performance.now();
    const plain = await measureDetection(detector, pgd(), on, { epsilon, seed: SEED, adaptive: false });
    const plainSeconds = (performance.now() - started) / 1000;
    started = performance.now();
    const both = await measureDetection(detector, pgd(), on, { epsilon, seed: SEED, adaptive: true });
    const bothSeconds = (performance.now() - started) / 1000;
    const r = (x: { rate: number | null; detected: number; successful: number }) => (x.rate === null ? 'n/a' : `${f3(x.rate)} (${x.detected}/${x.successful})`);
    console.log(
      `  cnn PGD L∞ ε=${epsilon} on ${detectionSamples} digits: detection non-adaptive ${r(plain.nonAdaptive)}, adaptive ${r(both.adaptive!)}; ` +
        `clean flagged ${plain.cleanFlagged}/${plain.count}; time adaptive / non-adaptive ${ratio(bothSeconds / plainSeconds)}`,
    );
  }
  tf.dispose([calibration, calibrateOn, on.inputs]);
  model.dispose();
}

const backend = await ensureBackend();
console.log(`robustest bench — defences (backend ${backend}, seed ${SEED})`);
if (!skip.includes('training')) {
  console.log(`adversarial training: mlp vs mlp-at on the first ${samples} test digits`);
  await training();
}
if (!skip.includes('detection')) {
  console.log('feature squeezing (Xu et al. 2018) on the CNN');
  await detection();
}
