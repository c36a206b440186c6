/** The bundled MNIST models by directory name (mlp, cnn, mlp-at), read from examples/mnist/models/. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';

export async function bundledModel(name: string): Promise<tf.LayersModel> {
  const dir = fileURLToPath(new URL(`../../examples/mnist/models/${name}/`, import.meta.url));
  const json = JSON.parse(readFileSync(`${dir}model.json`, 'utf8')) as tf.io.ModelJSON;
  const buffers = json.weightsManifest.flatMap((g) => g.paths).map((p) => {
    const bytes = readFileSync(dir + p);
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  });
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest.flatMap((g) => g.weights), weightData: tf.io.CompositeArrayBuffer.join(buffers) }));
}
