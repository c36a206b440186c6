/**
 * The model a bench attacks, from a path: a tfjs `model.json` (layers or graph format, with its
 * weight files beside it) or an `.onnx` file run by onnxruntime-node. Both runtimes are optional
 * peers, loaded only when a model needs them.
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { RobustestError } from '../errors.js';
import { classifier, type Bounds, type Classifier, type OutputKind } from '../model/classifier.js';
import { onnxClassifier, type OnnxSession } from '../model/onnx.js';

export interface ModelOptions {
  bounds: Bounds;
  outputs?: OutputKind;
  /** Input layout of an ONNX model. */
  layout?: 'nhwc' | 'nchw';
}

export interface LoadedModel {
  clf: Classifier;
  /** 'tfjs layers', 'tfjs graph' or 'onnxruntime-node <version>'. */
  format: string;
  release(): Promise<void>;
}

export async function loadModel(path: string, options: ModelOptions): Promise<LoadedModel> {
  const ext = extname(path).toLowerCase();
  if (ext === '.onnx') return loadOnnx(path, options);
  if (ext === '.json') return loadTfjs(path, options);
  throw new RobustestError('INVALID_MODEL', `${path} is not a model robustest loads.`, { expected: 'a tfjs model.json (layers or graph) or an .onnx file', received: ext || 'a path without extension' });
}

interface ModelJson {
  format?: string;
  modelTopology?: Record<string, unknown>;
  weightsManifest?: { paths: string[]; weights: unknown[] }[];
}

async function loadTfjs(path: string, options: ModelOptions): Promise<LoadedModel> {
  let json: ModelJson;
  try {
    json = JSON.parse(readFileSync(path, 'utf8')) as ModelJson;
  } catch (error) {
    throw new RobustestError('INVALID_MODEL', `${path} could not be read as a tfjs model.json.`, { expected: 'the model.json written by tfjs (model.save) or tensorflowjs_converter', received: (error as Error).message });
  }
  if (!json.modelTopology || !Array.isArray(json.weightsManifest)) {
    throw new RobustestError('INVALID_MODEL', `${path} is JSON but not a tfjs model.`, { expected: '{ modelTopology, weightsManifest, … }', received: `keys ${Object.keys(json).join(', ')}` });
  }
  const tf = await importTfjs();
  const dir = dirname(path);
  const buffers = json.weightsManifest.flatMap((group) => group.paths).map((file) => {
    const bytes = readFileSync(join(dir, file));
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  });
  const artifacts = {
    modelTopology: json.modelTopology,
    format: json.format,
    weightSpecs: json.weightsManifest.flatMap((group) => group.weights) as never,
    weightData: tf.io.CompositeArrayBuffer.join(buffers),
  };
  // Graph models (tensorflowjs_converter) keep their nodes under modelTopology.node.
  const graph = json.format === 'graph-model' || Array.isArray(json.modelTopology.node);
  const name = basename(dirname(path)) || basename(path, '.json');
  if (graph) {
    const model = await tf.loadGraphModel(tf.io.fromMemory(artifacts));
    return { clf: classifier(model, { bounds: options.bounds, outputs: options.outputs, name }), format: 'tfjs graph model', release: async () => model.dispose() };
  }
  const model = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  return { clf: classifier(model, { bounds: options.bounds, outputs: options.outputs, name }), format: 'tfjs layers model', release: async () => void model.dispose() };
}

async function importTfjs(): Promise<typeof import('@tensorflow/tfjs')> {
  try {
    return await import('@tensorflow/tfjs');
  } catch {
    throw new RobustestError('BACKEND_UNAVAILABLE', 'Loading a tfjs model.json needs @tensorflow/tfjs.', { expected: 'npm install @tensorflow/tfjs', received: '@tensorflow/tfjs is not installed' });
  }
}

interface OrtModule {
  InferenceSession: { create(path: string): Promise<OnnxSession & { release(): Promise<void> }> };
  Tensor: never;
  env?: { versions?: { common?: string } };
}

async function loadOnnx(path: string, options: ModelOptions): Promise<LoadedModel> {
  let ort: OrtModule;
  try {
    ort = (await import('onnxruntime-node' as string)) as OrtModule;
  } catch {
    throw new RobustestError('BACKEND_UNAVAILABLE', 'Running an .onnx model needs onnxruntime-node.', { expected: 'npm install onnxruntime-node', received: 'onnxruntime-node is not installed' });
  }
  let session: OnnxSession & { release(): Promise<void> };
  try {
    session = await ort.InferenceSession.create(path);
  } catch (error) {
    throw new RobustestError('INVALID_MODEL', `${path} could not be loaded by onnxruntime-node.`, { expected: 'a valid ONNX model', received: (error as Error).message });
  }
  const clf = onnxClassifier(session, { bounds: options.bounds, outputs: options.outputs, layout: options.layout, name: basename(path, '.onnx') });
  const version = ort.env?.versions?.common;
  return { clf, format: `onnxruntime-node${version ? ` ${version}` : ''}`, release: () => session.release() };
}
