/**
 * The adversarially trained MLP (examples/mnist/models/mlp-at/, written by `npm run example:train`)
 * and its training record.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';

export const HARDENED_DIRECTORY = fileURLToPath(new URL('../examples/mnist/models/mlp-at/', import.meta.url));

/** Loads mlp-at; the caller disposes it. */
export async function loadHardenedMlp(directory = HARDENED_DIRECTORY): Promise<tf.LayersModel> {
  const json = JSON.parse(readFileSync(`${directory}model.json`, 'utf8')) as tf.io.ModelJSON;
  const bytes = readFileSync(`${directory}weights.bin`);
  const weightData = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const weightSpecs = json.weightsManifest.flatMap((group) => group.weights);
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs, weightData }));
}
