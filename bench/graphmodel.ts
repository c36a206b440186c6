/**
 * A converted GraphModel through the model graph: nsfwjs's MobileNetV2Mid (224×224×3), imported
 * by src/graph/tfjs-graph and compiled by the tfjs engine, against tfjs-converter's executor in
 * the same run:
 * - logits on wasm: the engine's forward vs model.execute (time ratio, relative difference);
 * - the input gradient of one image: the engine on wasm and on cpu vs tf.grad through
 *   model.execute on cpu (tf.grad cannot run it on wasm: tfjs has no Conv2DBackpropFilter there).
 *   Same backend, same rounding: the cpu comparison tests exactness. Across backends the forward
 *   passes themselves differ in rounding, and wherever that puts a Relu6 activation on the other
 *   side of a kink the gradient legitimately differs along that unit's paths; the bench counts
 *   those activations in model.execute's own forward passes on cpu and on wasm.
 *
 *   tsx bench/graphmodel.ts [--images 1]
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { compileGraph } from '../src/engine/tfjs/compile.js';
import { importGraphModel } from '../src/graph/tfjs-graph/index.js';
import { loadMobileNetV2Mid, MOBILENET_MID_LOGITS } from '../test/fixtures/tfjs-graph/nsfwjs.js';
import { interleavedMedians, ms, ratio, s } from './timing.js';

const at = process.argv.indexOf('--images');
const images = at >= 0 ? Number(process.argv[at + 1]) : 1;

function relative(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}

function timed<T>(body: () => T): { value: T; seconds: number } {
  const start = performance.now();
  const value = body();
  return { value, seconds: (performance.now() - start) / 1000 };
}

await tf.setBackend('wasm');
const model = await loadMobileNetV2Mid();
const imported = timed(() => importGraphModel(model));
const graph = imported.value;
const network = compileGraph(graph);
console.log(`GraphModel MobileNetV2Mid (nsfwjs): ${graph.nodes.length} graph nodes imported in ${ms(imported.seconds * 1000)}`);

const x = tf.randomUniform([2, 224, 224, 3], 0, 1, 'float32', 5);
const [engineMs, executeMs] = await interleavedMedians(
  [() => network.forward(x).dispose(), () => (model.execute(x, MOBILENET_MID_LOGITS) as tf.Tensor).dispose()],
  5,
  1,
);
const difference = tf.tidy(() => relative(network.forward(x).dataSync(), (model.execute(x, MOBILENET_MID_LOGITS) as tf.Tensor).dataSync()));
console.log(`  logits, 2 images, wasm: engine ${ms(engineMs!)}, model.execute ${ms(executeMs!)} (engine time ÷ model.execute time ${ratio(engineMs! / executeMs!)}); max relative difference ${difference.toExponential(2)}`);

// A smooth loss with a dense logit gradient.
const weights = tf.tensor2d(Array.from({ length: images * 5 }, (_, i) => Math.sin(i + 1)), [images, 5]);
const loss = (z: tf.Tensor2D) => tf.add(tf.logSumExp(z, 1), tf.sum(tf.mul(z, weights), 1)) as tf.Tensor1D;
const one = tf.tidy(() => x.slice([0, 0, 0, 0], [images, 224, 224, 3]));

await tf.setBackend('cpu');
const reference = timed(() => tf.tidy(() => tf.grad((input: tf.Tensor) => tf.sum(loss(model.execute(input, MOBILENET_MID_LOGITS) as tf.Tensor2D)))(one).dataSync().slice()));
const engines: string[] = [];
for (const backend of ['cpu', 'wasm']) {
  await tf.setBackend(backend);
  network.valueAndGradient(one, loss).gradient.dispose();
  const run = timed(() => {
    const r = network.valueAndGradient(one, loss);
    const g = r.gradient.dataSync().slice();
    tf.dispose([r.gradient, r.logits, r.loss]);
    return g;
  });
  engines.push(`engine on ${backend} ${s(run.seconds)} (tf.grad time ÷ engine time ${ratio(reference.seconds / run.seconds)}, max relative difference ${relative(run.value, reference.value).toExponential(2)})`);
}
let wasmGrad = 'runs';
try {
  tf.tidy(() => tf.grad((input: tf.Tensor) => tf.sum(loss(model.execute(input, MOBILENET_MID_LOGITS) as tf.Tensor2D)))(one));
} catch (e) {
  wasmGrad = `fails: ${(e as Error).message.split('\n')[0]}`;
}
console.log(`  input gradient, ${images} image${images === 1 ? '' : 's'}: tf.grad through model.execute on cpu ${s(reference.seconds)}; ${engines.join('; ')}`);
console.log(`  tf.grad through model.execute on wasm ${wasmGrad}`);

/** Relu6 outputs of model.execute that are clipped (0 or 6) on one backend and not on the other. */
async function kinkSides(): Promise<{ flips: number; total: number }> {
  const topology = (model as unknown as { artifacts: { modelTopology: { node: { name: string; attr?: { fused_ops?: { list?: { s?: string[] } } } }[] } } }).artifacts.modelTopology;
  const names = topology.node.filter((n) => (n.attr?.fused_ops?.list?.s ?? []).map((v) => atob(v)).includes('Relu6')).map((n) => n.name);
  const values: Float32Array[][] = [];
  for (const backend of ['cpu', 'wasm']) {
    await tf.setBackend(backend);
    const outs = model.execute(one, names) as tf.Tensor[];
    values.push(outs.map((t) => t.dataSync().slice() as Float32Array));
    tf.dispose(outs);
  }
  let flips = 0;
  let total = 0;
  const clipped = (v: number) => v === 0 || v === 6;
  values[0]!.forEach((c, k) => {
    const w = values[1]![k]!;
    total += c.length;
    for (let i = 0; i < c.length; i++) if (clipped(c[i]!) !== clipped(w[i]!)) flips++;
  });
  return { flips, total };
}
const sides = await kinkSides();
console.log(`  Relu6 activations clipped on one backend's forward pass and not on the other's (model.execute, cpu vs wasm): ${sides.flips} of ${sides.total.toLocaleString('en-US')}`);
