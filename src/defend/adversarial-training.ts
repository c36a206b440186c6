/**
 * adversarialTraining(model, data, options): trains a tfjs LayersModel in place on adversarial
 * examples made fresh for every batch, and returns a plain-data history with clean and robust
 * validation accuracy per epoch.
 *
 * Tensor ownership: each batch is one synchronous tf.tidy (examples, loss, optimiser step), or,
 * with a robustest `attack`, an awaited attack run whose adversarials this call disposes. No
 * engine scope spans an await; the model's variables are updated in place, as model.fit does.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ensureBackend } from '../backend.js';
import { RobustestError } from '../errors.js';
import { dispose } from '../engine/hygiene.js';
import { Rng } from '../engine/random.js';
import { classifier, type Classifier, type ModelLike } from '../model/classifier.js';
import type { Samples } from '../samples.js';
import { ownedSamples } from './owned-samples.js';
import { pgd } from '../attacks/registry.js';
import { NORM_SYMBOL } from '../norms.js';
import { resolveTrainingOptions, type AdversarialTrainingOptions, type ResolvedTrainingOptions } from './training/options.js';
import { asTrainableModel, crossEntropy, endsInSoftmax, klPerSample, ModelView } from './training/model-view.js';
import { fgsmRsExamples, pgdExamples, tradesExamples, type ExampleContext } from './training/examples.js';
import { rampedEpsilon, scheduledRate } from './training/schedule.js';
import { permutation } from './training/permutation.js';
import { progressBar } from './training/progress.js';
import { validate } from './training/validation.js';
import type { EpochRecord, TrainingHistory } from './training/history.js';
import { checkIbpKernels, ibpLoss } from './training/ibp.js';
import { takeRows } from '../engine/tfjs/rows.js';

const WHERE = 'adversarialTraining';

interface BatchResult {
  loss: number;
  correct: number;
}

function makeOptimizer(o: ResolvedTrainingOptions): { optimizer: tf.Optimizer; owned: boolean } {
  if (typeof o.optimizer !== 'string') return { optimizer: o.optimizer, owned: false };
  switch (o.optimizer) {
    case 'adam':
      return { optimizer: tf.train.adam(o.learningRate), owned: true };
    case 'sgd':
      return { optimizer: tf.train.sgd(o.learningRate), owned: true };
    case 'momentum':
      return { optimizer: tf.train.momentum(o.learningRate, 0.9), owned: true };
  }
}

function setLearningRate(optimizer: tf.Optimizer, rate: number): void {
  const o = optimizer as unknown as { setLearningRate?: (r: number) => void; learningRate: number };
  // SGD and momentum read it through setLearningRate (which rebuilds a cached scalar); Adam reads the field.
  if (typeof o.setLearningRate === 'function') o.setLearningRate(rate);
  else o.learningRate = rate;
}

function generatorName(o: ResolvedTrainingOptions): string {
  switch (o.method) {
    case 'pgd':
      return o.attack ? o.attack.describe() : `built-in L∞ PGD, ${o.steps} steps of ${+(o.stepSize).toFixed(4)}ε, random start`;
    case 'trades':
      return `TRADES KL maximisation, ${o.steps} steps of ${+(o.stepSize).toFixed(4)}ε, β = ${o.beta}`;
    case 'fgsm-rs':
      return `FGSM with random start, one step of ${o.stepSize}ε`;
    case 'ibp':
      return `interval bound propagation (Gowal et al.), κ ramped from 1 to ${o.kappa}`;
  }
}

/** One optimiser step on the method's loss; `adversarial` is given when an attack made the examples. */
function trainStep(
  o: ResolvedTrainingOptions,
  view: ModelView,
  optimizer: tf.Optimizer,
  x: tf.Tensor,
  labels: tf.Tensor1D,
  numClasses: number,
  epsilon: number,
  kappa: number,
  rng: Rng,
  adversarial: tf.Tensor | undefined,
): BatchResult {
  const [loss, correct] = tf.tidy(() => {
    const oneHot = tf.cast(tf.oneHot(labels, numClasses), 'float32') as tf.Tensor2D;
    const ctx: ExampleContext = { view, x, oneHot, epsilon, bounds: o.bounds, rng };
    let examples: tf.Tensor = x;
    if (adversarial) examples = adversarial;
    else if (epsilon > 0 && o.method === 'pgd') examples = pgdExamples(ctx, o.steps, o.stepSize);
    else if (epsilon > 0 && o.method === 'fgsm-rs') examples = fgsmRsExamples(ctx, o.stepSize);
    else if (epsilon > 0 && o.method === 'trades') examples = tradesExamples(ctx, o.steps, o.stepSize);
    let correctCount: tf.Scalar | undefined;
    const cost = optimizer.minimize(
      () => {
        if (o.method === 'ibp') {
          const ibp = ibpLoss(view, x, labels, oneHot, epsilon, kappa, o.bounds);
          correctCount = tf.keep(ibp.certified);
          return ibp.loss;
        }
        const logP = view.logProbabilities(examples, true);
        correctCount = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logP, 1), labels), 'float32')) as tf.Scalar);
        if (o.method !== 'trades') return crossEntropy(logP, oneHot);
        const cleanLogP = examples === x ? logP : view.logProbabilities(x, true);
        const natural = crossEntropy(cleanLogP, oneHot);
        return examples === x ? natural : (tf.add(natural, tf.mul(o.beta, tf.mean(klPerSample(cleanLogP, logP)))) as tf.Scalar);
      },
      true,
      view.variables,
    );
    return [cost!, correctCount!];
  });
  const result = { loss: loss.dataSync()[0]!, correct: correct.dataSync()[0]! };
  tf.dispose([loss, correct]);
  return result;
}

/**
 * Trains `model` in place against adversarial examples and returns the history. `data` and
 * `options.validationData` are { inputs, labels } as everywhere in robustest; neither is disposed.
 */
export async function adversarialTraining(model: ModelLike, data: Samples, options: AdversarialTrainingOptions): Promise<TrainingHistory> {
  const o = resolveTrainingOptions(options);
  const trainable = asTrainableModel(model, WHERE);
  const backend = await ensureBackend();
  if (o.method === 'ibp') checkIbpKernels(backend);
  const probabilities = o.outputs === 'auto' ? endsInSoftmax(trainable) : o.outputs === 'probabilities';
  const clf: Classifier = classifier(model, { bounds: o.bounds, outputs: probabilities ? 'probabilities' : 'logits', name: trainable.name });
  const view = new ModelView(trainable, probabilities);
  const rng = new Rng(o.seed);
  const validationAttack = o.validationAttack ?? pgd();

  const owned: tf.Tensor[] = [];
  let optimizer: { optimizer: tf.Optimizer; owned: boolean } | undefined;
  let progress: ReturnType<typeof progressBar> | undefined;
  try {
    const train = await ownedSamples(clf, data, `${WHERE}() data`);
    owned.push(train.inputs);
    const validation = o.validationData ? await ownedSamples(clf, o.validationData, `${WHERE}() validationData`) : undefined;
    if (validation) owned.push(validation.inputs);
    const numClasses = clf.numClasses ?? (await classCount(clf, train.inputs));
    const labels = tf.tensor1d(train.labels, 'int32');
    owned.push(labels);

    optimizer = makeOptimizer(o);
    const batchesPerEpoch = Math.ceil(train.count / o.batchSize);
    const totalBatches = batchesPerEpoch * o.epochs;
    const warmupBatches = Math.round(o.warmupEpochs * batchesPerEpoch);
    progress = progressBar(o.progress, totalBatches, o.method);
    const history: TrainingHistory = {
      method: o.method,
      epsilon: o.epsilon,
      norm: NORM_SYMBOL[o.attack?.norm ?? 'linf'],
      generator: generatorName(o),
      seed: o.seed,
      backend,
      trainSamples: train.count,
      epochs: [],
      aborted: false,
    };

    let done = 0;
    for (let epoch = 0; epoch < o.epochs && !history.aborted; epoch++) {
      const order = permutation(train.count, rng.split('order').split(epoch));
      let lossSum = 0;
      let correctSum = 0;
      let seen = 0;
      let epsilon = 0;
      let rate: number | null = null;
      for (let b = 0; b < batchesPerEpoch; b++) {
        if (o.signal?.aborted) {
          history.aborted = true;
          break;
        }
        const rows = order.subarray(b * o.batchSize, Math.min(train.count, (b + 1) * o.batchSize));
        epsilon = rampedEpsilon(o.epsilon, warmupBatches, done + 1);
        if (typeof o.optimizer === 'string') {
          rate = scheduledRate(o.learningRate, o.schedule, done, totalBatches);
          setLearningRate(optimizer.optimizer, rate);
        }
        const batchRng = rng.split('batch').split(epoch).split(b);
        const kappa = 1 - (1 - o.kappa) * (warmupBatches > 0 ? Math.min(1, (done + 1) / warmupBatches) : 1);
        const x = takeRows(train.inputs, Array.from(rows));
        const y = takeRows(labels, Array.from(rows)) as tf.Tensor1D;
        let adversarial: tf.Tensor | undefined;
        try {
          if (o.attack && epsilon > 0) {
            const run = await o.attack.run(clf, { inputs: x, labels: Array.from(rows, (r) => train.labels[r]!) }, { epsilon, seed: batchRng.integerSeed() });
            adversarial = run.adversarials;
          }
          const result = trainStep(o, view, optimizer.optimizer, x, y, numClasses, epsilon, kappa, batchRng, adversarial);
          if (!Number.isFinite(result.loss)) {
            throw new RobustestError('MODEL_FAILED', `${WHERE}(): the training loss became ${result.loss} in epoch ${epoch + 1}, batch ${b + 1} (seed ${o.seed}).`, {
              expected: 'a finite loss; try a smaller learningRate or a warm-up (warmupEpochs)',
              received: String(result.loss),
            });
          }
          lossSum += result.loss * rows.length;
          correctSum += result.correct;
          seen += rows.length;
        } finally {
          dispose(x, y, adversarial);
        }
        done++;
        progress.update(done, { epoch: `${epoch + 1}/${o.epochs}`, epsilon: epsilon.toFixed(3), loss: (lossSum / seen).toFixed(4) });
      }
      if (seen === 0) break;
      const record: EpochRecord = {
        epoch: epoch + 1,
        epsilon,
        learningRate: rate,
        loss: lossSum / seen,
        adversarialAccuracy: correctSum / seen,
        batches: Math.ceil(seen / o.batchSize),
        validation: validation
          ? await validate(clf, validation.inputs, validation.labels, validationAttack, o.epsilon, rng.split('validation').split(epoch).integerSeed())
          : null,
      };
      history.epochs.push(record);
      await o.onEpochEnd?.(record);
    }
    return history;
  } finally {
    progress?.stop();
    if (optimizer?.owned) optimizer.optimizer.dispose();
    dispose(...owned);
  }
}

async function classCount(clf: Classifier, inputs: tf.Tensor): Promise<number> {
  const first = tf.slice(inputs, 0, 1);
  const logits = await clf.logits(first);
  const classes = logits.shape[1];
  tf.dispose([first, logits]);
  return classes;
}
