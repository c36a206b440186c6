/**
 * One-pixel attack success rate on the bundled MNIST CNN, with 1 and 3 pixels and Su et al.'s
 * settings (differential evolution, population 400, up to 100 generations), over test digits
 * the model classifies correctly.
 *
 *   npx tsx bench/one-pixel.ts [--samples 100] [--model cnn|mlp] [--population 400] [--iterations 100] [--seed 0]
 */
import * as tf from '@tensorflow/tfjs';
import { classifier, onePixel } from '../src/index.js';
import { loadMnistModel, mnistSamples, type MnistModelName } from '../examples/mnist/models.js';

function flag(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && process.argv[at + 1] ? process.argv[at + 1]! : fallback;
}

const count = Number(flag('samples', '100'));
const modelName = flag('model', 'cnn') as MnistModelName;
const populationSize = Number(flag('population', '400'));
const maxIterations = Number(flag('iterations', '100'));
const seed = Number(flag('seed', '0'));

const model = await loadMnistModel(modelName);
const clf = classifier(model);

// The first `count` test digits the model gets right: one-pixel success is measured on those.
const pool = mnistSamples(Math.min(4 * count, 2000));
const predicted = tf.tidy(() => Array.from(tf.argMax(model.predict(pool.inputs) as tf.Tensor, 1).dataSync()));
const keep = pool.labels.map((_, i) => i).filter((i) => predicted[i] === pool.labels[i]).slice(0, count);
const inputs = tf.gather(pool.inputs, keep);
const labels = keep.map((i) => pool.labels[i]!);
pool.inputs.dispose();

console.log(`one-pixel attack on the bundled MNIST ${modelName}: ${labels.length} correctly classified test digits, population ${populationSize}, ${maxIterations} generations, seed ${seed}`);
for (const pixels of [1, 3]) {
  const started = performance.now();
  const run = await onePixel({ pixels, populationSize, maxIterations }).run(clf, { inputs, labels }, { seed });
  const seconds = (performance.now() - started) / 1000;
  const broken = run.success.filter(Boolean).length;
  const queries = run.queries.reduce((a, b) => a + b, 0) / labels.length;
  const brokenQueries = run.queries.filter((_, i) => run.success[i]);
  const medianBroken = brokenQueries.length ? [...brokenQueries].sort((a, b) => a - b)[Math.floor(brokenQueries.length / 2)] : NaN;
  console.log(
    `  ${pixels} pixel${pixels === 1 ? ' ' : 's'}: success ${broken}/${labels.length} = ${((100 * broken) / labels.length).toFixed(1)}%` +
      `  mean queries/sample ${queries.toFixed(0)}  median queries to break ${medianBroken}  (${seconds.toFixed(1)} s, backend ${tf.getBackend()})`,
  );
  run.adversarials.dispose();
}
inputs.dispose();
model.dispose();
