/**
 * The models the nsfwjs package ships with their weights (base64 shards), loaded from memory:
 * MobileNetV2 and InceptionV3 as LayersModels, MobileNetV2Mid as a converted GraphModel.
 */
import * as tf from '@tensorflow/tfjs';

export type NsfwjsModel = 'mobilenet_v2' | 'mobilenet_v2_mid' | 'inception_v3';

interface ModelJson {
  format?: string;
  modelTopology: object;
  weightsManifest: { weights: tf.io.WeightsManifestEntry[] }[];
}

interface Bundled {
  modelJson(): Promise<{ default?: ModelJson } & ModelJson>;
  weightBundles: (() => Promise<{ default?: string } | string>)[];
}

export async function loadNsfwjs(name: NsfwjsModel): Promise<tf.LayersModel | tf.GraphModel> {
  const module = (await import(`nsfwjs/models/${name}`)) as Record<string, Bundled>;
  const bundled = Object.values(module).find((v) => typeof v?.modelJson === 'function')!;
  const loaded = await bundled.modelJson();
  const json = (loaded.default ?? loaded) as ModelJson;
  const parts: Buffer[] = [];
  for (const bundle of bundled.weightBundles) {
    const b = await bundle();
    parts.push(Buffer.from(typeof b === 'string' ? b : b.default!, 'base64'));
  }
  const weights = Buffer.concat(parts);
  const artifacts: tf.io.ModelArtifacts = {
    modelTopology: json.modelTopology,
    weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
    weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
    format: json.format,
  };
  return json.format === 'graph-model' ? tf.loadGraphModel(tf.io.fromMemory(artifacts)) : tf.loadLayersModel(tf.io.fromMemory(artifacts));
}
