/**
 * The onnxruntime executor against PyTorch and the tfjs executor, in one run:
 * - MobileNetV2 224×224, 8 images: forward and input gradient on onnxruntime (1 and 2 intra-op
 *   threads, both ways of writing strided convolutions' gradients) against PyTorch on CPU at the
 *   same thread counts, and the tfjs executor. The model is torchvision's MobileNetV2 exported to
 *   ONNX at bench time (bench/python/mobilenet_peer.py) and read by robustest's ONNX importer;
 *   without python3-torch, the nsfwjs MobileNetV2 LayersModel stands in and the peer is skipped.
 *   The gradients of the two runtimes are compared on the same images.
 * - The MNIST PGD-40 curve (6 ε, 500 digits, the curve of bench/backend.ts) for mlp, cnn and mlp-at
 *   on each executor, against Foolbox 3's LinfPGD on PyTorch (bench/python/pgd_curve_peer.py), one
 *   thread each. Foolbox and eagerpy come from FOOLBOX_PATH / EAGERPY_PATH or the snapshots in
 *   ROBUSTEST_MIRROR; without them the peer is skipped with a notice.
 * - Square L∞, 1000 queries per image, on 8 MobileNetV2 images (nsfwjs weights), on each
 *   executor; the tfjs executor runs as many (fewer with --tfjs-queries, its time for all then projected).
 *
 *   npx tsx bench/onnxruntime.ts [--skip mobilenet,curve,square] [--digits 500] [--runs 5] [--curve-runs N]
 *                                [--models mlp,cnn,mlp-at] [--queries 1000] [--tfjs-queries N]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { ensureBackend } from '../src/backend.js';
import { attackLoss } from '../src/attacks/losses.js';
import { importOnnx } from '../src/graph/onnx/index.js';
import { importLayersModel } from '../src/graph/tfjs-layers/import.js';
import type { ModelGraph } from '../src/graph/types.js';
import { compileGraph } from '../src/engine/tfjs/compile.js';
import { onnxruntimeNetwork, type OrtNetwork, type StridedGradient } from '../src/engine/onnxruntime/index.js';
import { onnxruntimeClassifier } from '../src/engine/onnxruntime/classifier.js';
import { classifier, evaluate, pgd, square, type Classifier } from '../src/index.js';
import { mnistSamples } from '../examples/mnist/models.js';
import { accuracies, ms, ratio, s } from './timing.js';

function flag(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && process.argv[at + 1] ? process.argv[at + 1]! : fallback;
}

const skip = new Set(flag('skip', '').split(','));
const runs = Number(flag('runs', '5'));
const python = process.env.PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
const here = dirname(fileURLToPath(import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'robustest-ort-bench-'));
const line = (text: string) => process.stdout.write(`${text}\n`);
const hasTorch = spawnSync(python, ['-c', 'import torch, torchvision'], { encoding: 'utf8' }).status === 0;

/** Median milliseconds of `runs` calls after two unmeasured ones. */
async function median(body: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 2; i++) await body();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await body();
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
}

/** ‖a − b‖ / ‖b‖ in the max norm and in L2. */
function relativeErrors(a: ArrayLike<number>, b: ArrayLike<number>): { max: number; l2: number } {
  let error = 0;
  let scale = 0;
  let error2 = 0;
  let scale2 = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    error = Math.max(error, Math.abs(d));
    scale = Math.max(scale, Math.abs(b[i]!));
    error2 += d * d;
    scale2 += b[i]! * b[i]!;
  }
  return { max: error / scale, l2: Math.sqrt(error2 / scale2) };
}

interface MobileNet {
  graph: ModelGraph;
  label: string;
  x: tf.Tensor;
  labels: Int32Array;
  /** PyTorch's medians per thread count, and its gradient on x (NHWC), when the peer ran. */
  peer: { version: string; threads: Record<string, { forward: number; gradient: number }>; gradient: Float32Array } | null;
}

async function torchvisionMobileNet(): Promise<MobileNet | string> {
  const run = spawnSync(python, [join(here, 'python', 'mobilenet_peer.py'), work, '1,2', String(runs)], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
    env: { ...process.env, PYTHONWARNINGS: 'ignore', OMP_NUM_THREADS: '2' },
  });
  if (run.status !== 0) return (run.stderr || String(run.error)).trim().split('\n').slice(-1)[0] ?? 'failed';
  const out = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { torch: string; labels: number[]; threads: Record<string, { forward: number; gradient: number }> };
  const graph = importOnnx(new Uint8Array(readFileSync(join(work, 'mobilenet_v2.onnx'))), { layout: 'nchw' });
  const floats = (file: string) => {
    const bytes = readFileSync(join(work, file));
    return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  };
  return {
    graph,
    label: 'torchvision MobileNetV2 (seeded random weights) exported to ONNX, read by the ONNX importer',
    x: tf.tensor4d(floats('x.bin'), [8, 224, 224, 3]),
    labels: Int32Array.from(out.labels),
    peer: { version: out.torch, threads: out.threads, gradient: floats('gradient.bin') },
  };
}

async function nsfwjsMobileNet(): Promise<MobileNet> {
  const model = await nsfwjsModel();
  const graph = importLayersModel(model)!;
  const x = tf.randomUniform([8, 224, 224, 3], 0, 1, 'float32', 1);
  return { graph, label: 'nsfwjs MobileNetV2 LayersModel (python3-torch absent: no PyTorch peer)', x, labels: Int32Array.from({ length: 8 }, (_, i) => i % 5), peer: null };
}

/** The MobileNetV2 LayersModel that nsfwjs ships with its weights. */
async function nsfwjsModel(): Promise<tf.LayersModel> {
  type ModelJson = { modelTopology: unknown; weightsManifest: { weights: tf.io.WeightsManifestEntry[] }[] };
  const { MobileNetV2Model } = (await import('nsfwjs/models/mobilenet_v2')) as unknown as {
    MobileNetV2Model: { modelJson(): Promise<{ default?: ModelJson } & ModelJson>; weightBundles: (() => Promise<{ default?: string } | string>)[] };
  };
  const loaded = await MobileNetV2Model.modelJson();
  const json = loaded.default ?? loaded;
  const bundle = await MobileNetV2Model.weightBundles[0]!();
  const base64 = typeof bundle === 'string' ? bundle : bundle.default!;
  const bytes = Buffer.from(base64, 'base64');
  return tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: json.modelTopology as tf.io.ModelJSON['modelTopology'], weightSpecs: json.weightsManifest.flatMap((g) => g.weights), weightData: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) }),
  );
}

/** A bundled MNIST model by directory name (mlp, cnn, mlp-at). */
async function loadBundled(name: string): Promise<tf.LayersModel> {
  const dir = fileURLToPath(new URL(`../examples/mnist/models/${name}/`, import.meta.url));
  const json = JSON.parse(readFileSync(`${dir}model.json`, 'utf8')) as tf.io.ModelJSON;
  const buffers = json.weightsManifest.flatMap((g) => g.paths).map((p) => {
    const bytes = readFileSync(dir + p);
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  });
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest.flatMap((g) => g.weights), weightData: tf.io.CompositeArrayBuffer.join(buffers) }));
}

async function timeNetwork(forward: () => Promise<tf.Tensor>, gradient: () => Promise<{ logits: tf.Tensor; loss: tf.Tensor; gradient: tf.Tensor }>): Promise<{ forward: number; gradient: number }> {
  const f = await median(async () => {
    const z = await forward();
    z.dataSync();
    z.dispose();
  });
  const g = await median(async () => {
    const r = await gradient();
    r.gradient.dataSync();
    tf.dispose([r.logits, r.loss, r.gradient]);
  });
  return { forward: f, gradient: g };
}

async function mobilenetBench(): Promise<void> {
  let mobile: MobileNet | string = hasTorch ? await torchvisionMobileNet() : 'python3-torch / python3-torchvision not importable';
  if (typeof mobile === 'string') {
    line(`  notice: the torchvision export failed (${mobile}); using the nsfwjs LayersModel`);
    mobile = await nsfwjsMobileNet();
  }
  const { graph, x, labels, peer } = mobile;
  const loss = attackLoss('ce', labels, null);
  line(`\nMobileNetV2 224×224×3, 8 images — ${mobile.label}; ${graph.nodes.length} graph nodes; medians of ${runs} runs`);
  for (const threads of [1, 2]) {
    const rows: string[] = [];
    const measured: Partial<Record<StridedGradient, { forward: number; gradient: number }>> = {};
    for (const strided of ['conv-transpose', 'zero-insertion'] as const) {
      const network = (await onnxruntimeNetwork(graph, { threads, stridedGradient: strided })) as OrtNetwork;
      measured[strided] = await timeNetwork(
        () => network.forward(x),
        () => network.valueAndGradient(x, loss),
      );
      if (strided === 'conv-transpose' && peer) {
        const r = await network.valueAndGradient(x, loss);
        const e = relativeErrors(r.gradient.dataSync(), peer.gradient);
        rows.push(`gradients of onnxruntime and PyTorch agree to ${e.max.toExponential(1)} (max norm), ${e.l2.toExponential(1)} (L2), relative`);
        tf.dispose([r.logits, r.loss, r.gradient]);
      }
      network.dispose();
    }
    const best = measured['conv-transpose']!;
    const alternative = measured['zero-insertion']!;
    let text = `  ${threads} thread${threads > 1 ? 's' : ''}: onnxruntime forward ${ms(best.forward)}, input gradient ${ms(best.gradient)} (strided gradients by zero insertion instead of ConvTranspose: ${ms(alternative.gradient)}, ${ratio(alternative.gradient / best.gradient)})`;
    const torch = peer?.threads[String(threads)];
    if (torch) text += ` | PyTorch ${peer!.version}: forward ${ms(torch.forward)}, input gradient ${ms(torch.gradient)} | onnxruntime/PyTorch: forward ${ratio(best.forward / torch.forward)}, gradient ${ratio(best.gradient / torch.gradient)}`;
    line(text);
    for (const row of rows) line(`    ${row}`);
  }
  const tfjs = compileGraph(graph);
  const once = async <T>(body: () => T) => {
    const start = performance.now();
    body();
    return performance.now() - start;
  };
  // One warm-up, then one of each: the tfjs executor takes seconds per call here.
  const warm = tfjs.valueAndGradient(x, loss);
  tf.dispose([warm.logits, warm.loss, warm.gradient]);
  const forwardMs = await once(() => tfjs.forward(x).dispose());
  const gradientMs = await once(() => {
    const r = tfjs.valueAndGradient(x, loss);
    tf.dispose([r.logits, r.loss, r.gradient]);
  });
  let parity = '';
  if (peer) {
    const r = tfjs.valueAndGradient(x, loss);
    const e = relativeErrors(r.gradient.dataSync(), peer.gradient);
    parity = `; its gradient and PyTorch's agree to ${e.max.toExponential(1)} (max norm), ${e.l2.toExponential(1)} (L2): random weights make this network's float32 gradient ill-conditioned`;
    tf.dispose([r.logits, r.loss, r.gradient]);
  }
  line(`  tfjs executor (${tf.getBackend()}): forward ${ms(forwardMs)}, input gradient ${ms(gradientMs)} (one run each)${parity}`);
  tfjs.dispose();
  x.dispose();
  graph.dispose();
}

/** A directory holding `pkg`'s Python sources: the given checkout, or a copy out of the mirrored snapshot. */
function peerPath(envName: string, repo: string, pkg: string): string | null {
  const given = process.env[envName];
  if (given) return existsSync(join(given, pkg)) ? given : null;
  const gitDir = join(process.env.ROBUSTEST_MIRROR ?? '/work/.mirror', repo, 'repo');
  if (!existsSync(gitDir)) return null;
  const git = (...args: string[]) => spawnSync('git', ['--git-dir', gitDir, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const files = git('ls-tree', '-r', '--name-only', 'HEAD', pkg).stdout.split('\n').filter((f) => /\.py$|VERSION$|py\.typed$/.test(f));
  if (files.length === 0) return null;
  const out = join(work, 'peers');
  for (const file of files) {
    mkdirSync(join(out, dirname(file)), { recursive: true });
    writeFileSync(join(out, file), git('show', `HEAD:${file}`).stdout);
  }
  return out;
}

/** The model's layers with their weights, channels last, as bench/python/mnist_torch.py reads them. */
function exportLayers(model: tf.LayersModel): unknown[] {
  return model.layers.map((layer) => {
    const config = layer.getConfig() as { activation?: string; poolSize?: number | number[] };
    const [kernel, bias] = layer.getWeights();
    return {
      type: layer.getClassName(),
      // Both sides attack the logits: the final softmax is left out.
      activation: config.activation === 'softmax' ? 'linear' : config.activation,
      poolSize: Array.isArray(config.poolSize) ? config.poolSize[0] : config.poolSize,
      ...(kernel ? { kernel: Array.from(kernel.dataSync()), kernelShape: kernel.shape, bias: Array.from(bias!.dataSync()) } : {}),
    };
  });
}

/** The PGD-40 curve of bench/backend.ts on each executor and on Foolbox 3 + PyTorch, one thread each. */
async function curveBench(): Promise<void> {
  const EPSILONS = [0.02, 0.05, 0.1, 0.15, 0.2, 0.3];
  const PGD = { steps: 40, relativeStepSize: 0.01 / 0.3 };
  const SEED = 7;
  const digitCount = Number(flag('digits', '500'));
  // Runs per side: the MLPs' curves take about a second, and on this shared machine a side's
  // runs differ by up to 2× (the first ones slowest); the CNN's Foolbox run takes over a minute.
  const runsOf = (name: string) => Number(flag('curve-runs', name === 'cnn' ? '3' : '8'));
  const foolbox = hasTorch ? peerPath('FOOLBOX_PATH', 'bethgelab+foolbox', 'foolbox') : null;
  const eagerpy = hasTorch ? peerPath('EAGERPY_PATH', 'jonasrauber+eagerpy', 'eagerpy') : null;
  line(`\nMNIST PGD-40 L∞ curve, ${EPSILONS.length} ε (${EPSILONS.join(', ')}), ${digitCount} digits, seed ${SEED}; onnxruntime with 1 thread, Foolbox 3 on PyTorch CPU with 1 thread; each side timed as the fastest of its runs back to back after a warm-up (8 for the MLPs, 3 for the CNN; --curve-runs sets both)`);
  if (hasTorch && (!foolbox || !eagerpy)) line('  notice: bethgelab/foolbox or jonasrauber/eagerpy not found (FOOLBOX_PATH / EAGERPY_PATH, or snapshots in ROBUSTEST_MIRROR); the Foolbox column is skipped');
  const digits = mnistSamples(digitCount);
  const attack = pgd({ norm: 'linf', ...PGD, randomStart: true });
  for (const name of flag('models', 'mlp,cnn,mlp-at').split(',')) {
    const model = await loadBundled(name);
    const tfjs = classifier(model);
    const network = (await onnxruntimeNetwork(tfjs.graph!()!, { threads: 1 })) as OrtNetwork;
    const ort = onnxruntimeClassifier(tfjs, network);
    // Warm both (sessions, derived weights) on a few digits.
    const few = { inputs: tf.slice(digits.inputs, 0, 20), labels: digits.labels.slice(0, 20) };
    await evaluate(tfjs, few, { attack: pgd({ steps: 2 }), epsilons: [0.1], seed: SEED });
    await evaluate(ort, few, { attack: pgd({ steps: 2 }), epsilons: [0.1], seed: SEED });
    few.inputs.dispose();
    const timed = async (clf: Classifier) => {
      const start = performance.now();
      const report = await evaluate(clf, digits, { attack, epsilons: EPSILONS, seed: SEED });
      return { report, seconds: (performance.now() - start) / 1000 };
    };
    // The fastest of each executor's runs, back to back (as Foolbox's): on this machine a pause
    // between runs, even an idle one, slows the next by up to 2×. onnxruntime's first: a tfjs
    // executor run leaves the garbage of its many tensors, whose collection would fall on the
    // runs after it.
    const curveRuns = runsOf(name);
    const fastest = async (clf: Classifier) => {
      let best = await timed(clf);
      const runs = [best.seconds];
      for (let run = 1; run < curveRuns; run++) {
        const next = await timed(clf);
        runs.push(next.seconds);
        if (next.seconds < best.seconds) best = next;
      }
      return { ...best, runs };
    };
    const onOrt = await fastest(ort);
    const onTfjs = await fastest(tfjs);
    let text = `  ${name}: onnxruntime ${accuracies(onOrt.report.robustAccuracy)} in ${s(onOrt.seconds)} | tfjs executor (${tf.getBackend()}) ${accuracies(onTfjs.report.robustAccuracy)} in ${s(onTfjs.seconds)} (onnxruntime ${ratio(onOrt.seconds / onTfjs.seconds)} of its time)`;
    let foolboxRuns: number[] = [];
    if (foolbox && eagerpy) {
      const logits = await tfjs.logits(digits.inputs);
      const file = join(work, `${name}-curve.json`);
      writeFileSync(
        file,
        JSON.stringify({
          layers: exportLayers(model),
          shape: digits.inputs.shape,
          inputs: Array.from(digits.inputs.dataSync()),
          labels: digits.labels,
          logits: Array.from(logits.dataSync()),
          options: { epsilons: EPSILONS, steps: PGD.steps, relativeStepSize: PGD.relativeStepSize, seed: SEED },
        }),
      );
      logits.dispose();
      const run = spawnSync(python, [join(here, 'python', 'pgd_curve_peer.py'), file, String(curveRuns)], {
        encoding: 'utf8',
        maxBuffer: 1 << 26,
        env: { ...process.env, PYTHONPATH: [...new Set([foolbox, eagerpy]), join(here, 'python')].join(':'), OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1', PYTHONWARNINGS: 'ignore' },
      });
      if (run.status !== 0) text += ` | Foolbox failed: ${(run.stderr || String(run.error)).trim().split('\n').at(-1)}`;
      else {
        const peer = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { robustAccuracy: number[]; seconds: number; runs: number[]; parity: number };
        foolboxRuns = peer.runs;
        text += ` | Foolbox 3 + PyTorch ${accuracies(peer.robustAccuracy)} in ${s(peer.seconds)} | onnxruntime ${ratio(onOrt.seconds / peer.seconds)} of Foolbox's time (logits agree to ${peer.parity.toExponential(1)})`;
      }
    }
    line(text);
    const all = (values: number[]) => values.map((v) => v.toFixed(2)).join(' ');
    line(`    every run, in order (s): onnxruntime ${all(onOrt.runs)}${foolboxRuns.length > 0 ? ` | Foolbox ${all(foolboxRuns)}` : ''}`);
    network.dispose();
    model.dispose();
  }
  digits.inputs.dispose();
}

/** Square L∞ on 8 MobileNetV2 images, labels = the clean predictions, on both executors. */
async function squareBench(): Promise<void> {
  const queries = Number(flag('queries', '1000'));
  const tfjsQueries = Number(flag('tfjs-queries', String(queries)));
  const model = await nsfwjsModel();
  const tfjs = classifier(model, { bounds: [0, 1], name: 'MobileNetV2 (nsfwjs)' });
  const network = (await onnxruntimeNetwork(tfjs.graph!()!)) as OrtNetwork;
  const ort = onnxruntimeClassifier(tfjs, network);
  const x = tf.randomUniform([8, 224, 224, 3], 0, 1, 'float32', 3);
  const z = await ort.logits(x);
  const labels = Array.from(tf.argMax(z, 1).dataSync());
  z.dispose();
  const epsilon = 2 / 255;
  line(`\nSquare L∞ ε = 2/255 on 8 MobileNetV2 images (nsfwjs weights; labels = clean predictions), seed 0; onnxruntime with ${network.threads} threads`);
  const run = async (clf: Classifier, q: number) => {
    const start = performance.now();
    const report = await evaluate(clf, { inputs: x, labels }, { attack: square({ norm: 'linf', queries: q }), epsilons: [epsilon], seed: 0 });
    return { robust: report.robustAccuracy[0]!, seconds: (performance.now() - start) / 1000 };
  };
  const onOrt = await run(ort, queries);
  const onTfjs = await run(tfjs, tfjsQueries);
  const perQuery = (r: { seconds: number }, q: number) => (r.seconds / q) * 1000;
  const projected = tfjsQueries === queries ? '' : `, ${queries} projected at ${s((onTfjs.seconds * queries) / tfjsQueries)}`;
  line(
    `  onnxruntime: ${queries} queries in ${s(onOrt.seconds)}, robust accuracy ${onOrt.robust.toFixed(3)} | tfjs executor (${tf.getBackend()}): ${tfjsQueries} queries in ${s(onTfjs.seconds)}, ` +
      `robust accuracy ${onTfjs.robust.toFixed(3)}${projected} | per query ${ms(perQuery(onOrt, queries))} vs ${ms(perQuery(onTfjs, tfjsQueries))}, onnxruntime ${ratio(perQuery(onOrt, queries) / perQuery(onTfjs, tfjsQueries))} of the time`,
  );
  x.dispose();
  network.dispose();
  model.dispose();
}

// classifier() would pick onnxruntime itself: the tfjs columns are pinned to the tfjs engine, the
// onnxruntime ones use networks made here.
process.env.ROBUSTEST_ENGINE = 'tfjs';
await ensureBackend();
line(`onnxruntime executor bench — work files in ${work}`);
if (!hasTorch) line(`  notice: ${python} cannot import torch and torchvision (Debian: apt-get install python3-torch python3-torchvision); PyTorch columns skipped`);
if (!skip.has('mobilenet')) await mobilenetBench();
if (!skip.has('curve')) await curveBench();
if (!skip.has('square')) await squareBench();
