/**
 * Memory on real sizes, each measurement in a process of its own (peak RSS is per process):
 * - evaluate() on 2,000, 10,000 and 20,000 MNIST digits (the 10,000 digits of the `mnist` package,
 *   tiled) with the bundled CNN: peak RSS must stay flat, bounded by the batch, not by N;
 * - MobileNetV2 at 224×224×3 (the LayersModel nsfwjs ships with its weights) attacked with PGD
 *   under default options: the batch is sized from the model's measured gradient memory.
 *
 *   tsx bench/memory.ts            all of it
 *   tsx bench/memory.ts --child …  one measurement (used by the above)
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { classifier, evaluate, fgsm, pgd } from '../src/index.js';
import { batchSizeFor } from '../src/engine/batches.js';
import { loadMnistModel } from '../examples/mnist/models.js';
import { mnistSplit } from '../examples/mnist/data.js';

const MB = 1024 * 1024;
const peakMb = (): number => (process.resourceUsage().maxRSS * 1024) / MB;

async function digits(count: number): Promise<void> {
  const splits = [mnistSplit('train'), mnistSplit('test')];
  const available = splits[0]!.count + splits[1]!.count;
  const images = new Float32Array(count * 784);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const k = i % available;
    const split = k < splits[0]!.count ? splits[0]! : splits[1]!;
    const j = k < splits[0]!.count ? k : k - splits[0]!.count;
    images.set(split.images.subarray(j * 784, (j + 1) * 784), i * 784);
    labels[i] = split.labels[j]!;
  }
  const inputs = tf.tensor4d(images, [count, 28, 28, 1]);
  // What the process holds before robustest's call: runtime, tfjs, the digits and their tensor.
  const before = process.memoryUsage().rss / MB;
  const started = performance.now();
  const report = await evaluate(classifier(await loadMnistModel('cnn')), { inputs, labels }, { attack: fgsm(), epsilons: [0.1] });
  console.log(JSON.stringify({ count, before, peak: peakMb(), seconds: (performance.now() - started) / 1000, clean: report.cleanAccuracy, robust: report.robustAccuracy[0] }));
}

async function mobilenet(): Promise<void> {
  const { MobileNetV2Model } = (await import('nsfwjs/models/mobilenet_v2')) as unknown as {
    MobileNetV2Model: { modelJson(): Promise<{ default?: ModelJson } & ModelJson>; weightBundles: (() => Promise<{ default?: string } | string>)[] };
  };
  type ModelJson = { modelTopology: object; weightsManifest: { weights: tf.io.WeightsManifestEntry[] }[] };
  const loaded = await MobileNetV2Model.modelJson();
  const json = (loaded.default ?? loaded) as ModelJson;
  const bundle = await MobileNetV2Model.weightBundles[0]!();
  const weights = Buffer.from(typeof bundle === 'string' ? bundle : bundle.default!, 'base64');
  const model = await tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest.flatMap((g) => g.weights), weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) }),
  );
  const clf = classifier(model, { bounds: [0, 1], name: 'MobileNetV2 (nsfwjs)' });
  // Eight smooth random images: what matters here is memory, not what they show.
  const inputs = tf.tidy(() => tf.image.resizeBilinear(tf.randomUniform([8, 28, 28, 3], 0, 1, 'float32', 5) as tf.Tensor4D, [224, 224]));
  const predicted = tf.tidy(() => tf.argMax(model.predict(inputs) as tf.Tensor, 1));
  const labels = Array.from(await predicted.data());
  predicted.dispose();
  const batch = await batchSizeFor(clf, inputs);
  const started = performance.now();
  const report = await evaluate(clf, { inputs, labels }, { attack: pgd({ steps: 10 }), epsilons: [1 / 255] });
  console.log(JSON.stringify({ batch, peak: peakMb(), seconds: (performance.now() - started) / 1000, clean: report.cleanAccuracy, robust: report.robustAccuracy[0], backend: report.backend }));
}

function child(args: string[]): Record<string, number | string> | string {
  const result = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', ...args], { encoding: 'utf8', maxBuffer: 64 * MB });
  const line = result.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as Record<string, number | string>;
  } catch {
    return `failed (exit ${result.status ?? result.signal}): ${(result.stderr || result.stdout).trim().split('\n').slice(-3).join(' ')}`;
  }
}

const at = process.argv.indexOf('--child');
if (at >= 0) {
  const what = process.argv[at + 1]!;
  await (what === 'mobilenet' ? mobilenet() : digits(Number(what)));
} else {
  console.log('memory — evaluate() with FGSM on the bundled CNN, default options, one process per size');
  const runs = [2000, 10000, 20000].map((n) => [n, child([String(n)])] as const);
  for (const [n, r] of runs) {
    if (typeof r === 'string') console.log(`  ${n.toLocaleString('en')} digits: ${r}`);
    else console.log(`  ${n.toLocaleString('en')} digits: peak RSS ${(r.peak as number).toFixed(0)} MB (${(r.before as number).toFixed(0)} MB before the call: runtime, tfjs, digits), ${(r.seconds as number).toFixed(1)} s, clean ${(r.clean as number).toFixed(3)}, robust ${(r.robust as number).toFixed(3)}`);
  }
  const small = runs[0]![1];
  const large = runs[2]![1];
  if (typeof small !== 'string' && typeof large !== 'string') {
    console.log(`  20,000 vs 2,000 digits: peak RSS ${((large.peak as number) / (small.peak as number)).toFixed(2)}× for 10× the samples (target: under 400 MB at 20,000)`);
  }
  const m = child(['mobilenet']);
  if (typeof m === 'string') console.log(`MobileNetV2 224×224×3, 8 images, PGD-10 with default options: ${m}`);
  else console.log(`MobileNetV2 224×224×3, 8 images, PGD-10 with default options (${m.backend}): completed in ${(m.seconds as number).toFixed(1)} s, default batch ${m.batch} images, peak RSS ${(m.peak as number).toFixed(0)} MB, robust accuracy at ε = 1/255 ${(m.robust as number).toFixed(3)}`);
}
