/**
 * A shard worker: its own tfjs engine and backend, the model loaded from transferred artifacts,
 * and attacks rebuilt from their recipes. Runs whole chunks exactly as the main thread would.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { ensureBackend } from '../../backend.js';
import { classifier, type Classifier } from '../../model/classifier.js';
import { attackFromRecipe } from '../../attacks/registry.js';
import type { PlainRun, ShardInit, ShardReply, ShardTask } from './protocol.js';

const port = parentPort!;
const send = (reply: ShardReply): void => port.postMessage(reply);

async function start(init: ShardInit): Promise<Classifier> {
  // The same backend as the main thread, so that a chunk gives the same result here as there.
  process.env.ROBUSTEST_BACKEND = init.backend;
  await ensureBackend();
  const layers = (await import('@tensorflow/tfjs-layers')) as { loadLayersModel(handler: tf.io.IOHandler): Promise<unknown> };
  const model = await layers.loadLayersModel(tf.io.fromMemory(init.model.artifacts));
  return classifier(model, init.model.options);
}

async function runTask(clf: Classifier, task: ShardTask): Promise<PlainRun> {
  const inputs = tf.tensor(task.inputs, task.shape, 'float32');
  try {
    const run = await attackFromRecipe(task.recipe).run(
      clf,
      { inputs, labels: task.labels },
      { epsilon: task.epsilon, seed: task.seed, batchSize: task.batchSize, sampleIds: task.sampleIds },
    );
    const adversarials = (await run.adversarials.data()) as Float32Array;
    run.adversarials.dispose();
    return { ...run, adversarials };
  } finally {
    inputs.dispose();
  }
}

start(workerData as ShardInit).then(
  (clf) => {
    port.on('message', (task: ShardTask) => {
      runTask(clf, task).then(
        (run) => send({ id: task.id, run }),
        (error: Error) => send({ id: task.id, error: { message: error.message, name: error.name } }),
      );
    });
    send({ ready: true });
  },
  (error: Error) => send({ failed: error.message }),
);
