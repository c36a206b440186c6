/**
 * Samples: inputs (tensor or nested arrays, NHWC or [N, features]) with values inside the
 * classifier's bounds, and integer class labels. Everything is checked before any attack runs,
 * and errors say what was expected and what was received.
 */
import * as tf from '@tensorflow/tfjs-core';
import { RobustestError, show, shapeString } from './errors.js';
import type { Classifier } from './model/classifier.js';
import { batchRanges, defaultBatchSize } from './engine/batches.js';
import { sliceRows } from './engine/tfjs/rows.js';
import { readInto } from './engine/tfjs/host-memory.js';
import { borrow, giveBack } from './engine/buffers.js';
import { rowRange } from './engine/row-range.js';

export type NestedArray = number | NestedArray[];

export interface Samples {
  /** A tensor [N, ...inputShape] or nested arrays of numbers (a flat typed array has no shape: wrap it in tf.tensor(data, shape)). */
  inputs: tf.Tensor | NestedArray[];
  labels: tf.Tensor | ArrayLike<number>;
}

export interface PreparedSamples {
  /** float32, [N, ...inputShape]: the caller's own tensor when it is one (never disposed here). */
  inputs: tf.Tensor;
  labels: Int32Array;
  count: number;
}

const BOUNDS_TOLERANCE = 1e-6;

/** Tensors whose values are known finite and inside these bounds: rows of checked samples. */
const checkedAgainst = new WeakMap<tf.Tensor, readonly [number, number]>();

/**
 * Records that `rows` holds values already checked against `bounds` (rows taken from samples
 * prepareSamples accepted), so an attack run on them by evaluate() does not read them again.
 */
export function markChecked(rows: tf.Tensor, bounds: readonly [number, number]): tf.Tensor {
  checkedAgainst.set(rows, bounds);
  return rows;
}

export async function prepareSamples(clf: Classifier, samples: Samples | undefined, where = 'samples'): Promise<PreparedSamples> {
  if (samples === null || typeof samples !== 'object' || !('inputs' in samples) || !('labels' in samples)) {
    throw new RobustestError('INVALID_OPTION', `${where} must be an object { inputs, labels }.`, {
      expected: '{ inputs: tf.Tensor | number[][], labels: tf.Tensor | number[] }',
      received: show(samples),
    });
  }
  const inputs = toInputTensor(samples.inputs, where);
  checkShape(clf, inputs, where);
  const known = checkedAgainst.get(inputs);
  if (!known || known[0] !== clf.bounds[0] || known[1] !== clf.bounds[1]) await checkValues(clf, inputs, where);
  const labels = await toLabels(samples.labels, inputs.shape[0], where);
  await checkLabelRange(clf, inputs, labels, where);
  return { inputs, labels, count: inputs.shape[0] };
}

function toInputTensor(raw: Samples['inputs'], where: string): tf.Tensor {
  if (raw instanceof tf.Tensor) {
    if (raw.isDisposed) {
      throw new RobustestError('INVALID_OPTION', `${where}.inputs is a disposed tensor.`, { expected: 'a live tensor', received: 'a disposed tensor' });
    }
    if (raw.dtype !== 'float32' && raw.dtype !== 'int32') {
      throw new RobustestError('INVALID_OPTION', `${where}.inputs has an unsupported dtype.`, { expected: 'float32 (or int32)', received: raw.dtype });
    }
    // Read in place: tensors are immutable, and robustest never disposes what it did not create.
    return raw.dtype === 'float32' ? raw : tf.cast(raw, 'float32');
  }
  if (!Array.isArray(raw)) {
    throw new RobustestError('INVALID_SHAPE', `${where}.inputs must be a tensor or a nested array of numbers.`, {
      expected: `tf.Tensor or number[][] (one row per sample)${ArrayBuffer.isView(raw) ? '; wrap a flat typed array with its shape: tf.tensor(data, [N, ...inputShape])' : ''}`,
      received: show(raw),
    });
  }
  if (raw.length === 0) {
    throw new RobustestError('INVALID_SHAPE', `${where}.inputs is empty.`, { expected: 'at least one sample', received: '0 samples' });
  }
  const shape = nestedShape(raw, where);
  return tf.tensor(flattenNested(raw, shape), shape, 'float32');
}

function nestedShape(raw: NestedArray[], where: string): number[] {
  const shape: number[] = [];
  let level: NestedArray = raw;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = level[0] as NestedArray;
  }
  // Verify the array is rectangular, naming the first ragged place.
  const visit = (node: NestedArray, depth: number, path: string): void => {
    if (depth === shape.length) {
      if (typeof node !== 'number') {
        throw new RobustestError('INVALID_SHAPE', `${where}.inputs${path} is not a number.`, { expected: 'a number', received: show(node) });
      }
      return;
    }
    if (!Array.isArray(node) || node.length !== shape[depth]) {
      throw new RobustestError('INVALID_SHAPE', `${where}.inputs is ragged at ${where}.inputs${path}.`, {
        expected: `an array of length ${shape[depth]}`,
        received: Array.isArray(node) ? `an array of length ${node.length}` : show(node),
      });
    }
    for (let i = 0; i < node.length; i++) visit(node[i]!, depth + 1, `${path}[${i}]`);
  };
  visit(raw, 0, '');
  return shape;
}

function flattenNested(raw: NestedArray[], shape: number[]): Float32Array {
  const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
  let k = 0;
  const walk = (node: NestedArray): void => {
    if (typeof node === 'number') out[k++] = node;
    else for (const child of node) walk(child);
  };
  walk(raw);
  return out;
}

function checkShape(clf: Classifier, inputs: tf.Tensor, where: string): void {
  const expected = clf.inputShape;
  if (inputs.rank < 2) {
    throw new RobustestError('INVALID_SHAPE', `${where}.inputs needs a batch dimension.`, {
      expected: expected ? shapeString([null, ...expected]) : '[N, ...features]',
      received: shapeString(inputs.shape),
    });
  }
  if (inputs.shape[0] === 0) {
    throw new RobustestError('INVALID_SHAPE', `${where}.inputs is empty.`, { expected: 'at least one sample', received: shapeString(inputs.shape) });
  }
  if (expected && (inputs.rank - 1 !== expected.length || expected.some((d, i) => inputs.shape[i + 1] !== d))) {
    throw new RobustestError('INVALID_SHAPE', `${where}.inputs do not fit ${clf.name}.`, {
      expected: shapeString([null, ...expected]),
      received: shapeString(inputs.shape),
    });
  }
}

/**
 * Every value finite and inside the bounds. One pass over host memory per block of rows: as
 * tensor ops it was nine passes with their temporaries, run again for every batch an attack checks.
 */
async function checkValues(clf: Classifier, inputs: tf.Tensor, where: string): Promise<void> {
  const [low, high] = clf.bounds;
  const count = inputs.shape[0]!;
  const size = inputs.size / count;
  // Block by block, so that the host copy stays small whatever the number of samples.
  const block = defaultBatchSize(size);
  const buffer = borrow(Math.min(count, block) * size);
  try {
    for (const [start, end] of batchRanges(count, block)) {
      const rows = sliceRows(inputs, start, end - start);
      const values = buffer.subarray(0, (end - start) * size);
      try {
        readInto(rows, values);
      } finally {
        rows.dispose();
      }
      for (let r = 0; r < end - start; r++) {
        const { min, max, nonFinite } = rowRange(values, r * size, (r + 1) * size);
        const sample = start + r;
        if (nonFinite !== null) {
          throw new RobustestError('NOT_FINITE', `${where}.inputs contain a non-finite value at sample ${sample}.`, {
            expected: `finite numbers in [${low}, ${high}]`,
            received: show(nonFinite),
          });
        }
        if (min < low - BOUNDS_TOLERANCE || max > high + BOUNDS_TOLERANCE) {
          const offending = min < low - BOUNDS_TOLERANCE ? min : max;
          throw new RobustestError(
            'OUT_OF_BOUNDS',
            `${where}.inputs leave the classifier's bounds at sample ${sample}. Nothing is clipped: scale the inputs, or pass bounds to classifier().`,
            { expected: `values in [${low}, ${high}]`, received: `${offending} (sample ${sample} spans [${min}, ${max}])` },
          );
        }
      }
    }
  } finally {
    giveBack(buffer);
  }
}

async function toLabels(raw: Samples['labels'], count: number, where: string): Promise<Int32Array> {
  let values: number[];
  if (raw instanceof tf.Tensor) {
    if (raw.dtype === 'bool' || raw.dtype === 'string' || raw.dtype === 'complex64') {
      throw new RobustestError('INVALID_LABELS', `${where}.labels must be integer class indices, one per sample.`, {
        expected: 'an int32 (or integer-valued float32) tensor of class indices',
        received: `a ${raw.dtype} tensor${raw.dtype === 'bool' ? ' (a mask? pass tf.cast(labels, "int32") only if true/false really are classes 1/0)' : ''}`,
      });
    }
    if (raw.rank !== 1) {
      throw new RobustestError('INVALID_LABELS', `${where}.labels must be integer class indices, one per sample.`, {
        expected: `shape [${count}]`,
        received: `shape ${shapeString(raw.shape)}${raw.rank === 2 ? ' (one-hot? use tf.argMax(labels, 1))' : ''}`,
      });
    }
    values = Array.from(await raw.data());
  } else if (raw !== null && typeof raw === 'object' && typeof (raw as ArrayLike<number>).length === 'number') {
    const arr = Array.from(raw as ArrayLike<unknown>);
    const nested = arr.findIndex((v) => typeof v !== 'number');
    if (nested >= 0) {
      throw new RobustestError('INVALID_LABELS', `${where}.labels must be integer class indices, one per sample.`, {
        expected: 'numbers',
        received: `${show(arr[nested])} at index ${nested}${Array.isArray(arr[nested]) ? ' (one-hot? pass the class index)' : ''}`,
      });
    }
    values = arr as number[];
  } else {
    throw new RobustestError('INVALID_LABELS', `${where}.labels must be integer class indices, one per sample.`, {
      expected: 'number[] or a 1-D tensor',
      received: show(raw),
    });
  }
  if (values.length !== count) {
    throw new RobustestError('INVALID_LABELS', `${where}.labels and ${where}.inputs disagree on the number of samples.`, {
      expected: `${count} labels (one per input)`,
      received: `${values.length} labels`,
    });
  }
  const bad = values.findIndex((v) => !Number.isInteger(v) || v < 0);
  if (bad >= 0) {
    throw new RobustestError('INVALID_LABELS', `${where}.labels[${bad}] is not a class index.`, {
      expected: 'a non-negative integer',
      received: show(values[bad]),
    });
  }
  return Int32Array.from(values);
}

async function checkLabelRange(clf: Classifier, inputs: tf.Tensor, labels: Int32Array, where: string): Promise<void> {
  if (clf.numClasses === null) {
    // Learn the class count from one prediction.
    const first = tf.slice(inputs, 0, 1);
    const probe = await clf.logits(first);
    first.dispose();
    probe.dispose();
  }
  const classes = clf.numClasses!;
  const bad = labels.findIndex((v) => v >= classes);
  if (bad >= 0) {
    throw new RobustestError('INVALID_LABELS', `${where}.labels[${bad}] is not one of ${clf.name}'s classes.`, {
      expected: `an integer in [0, ${classes - 1}]`,
      received: String(labels[bad]),
    });
  }
}

/**
 * Checks an epsilon argument; `undefined` is allowed where the attack minimizes. With the
 * classifier's bounds and an L∞ norm, an ε wider than the whole input range is rejected: it is
 * almost always a budget written in pixel units (8 meant as 8/255).
 */
export function checkEpsilon(epsilon: unknown, where: string, bounds?: readonly [number, number], norm?: string): number {
  if (typeof epsilon !== 'number' || Number.isNaN(epsilon) || epsilon < 0 || epsilon === Infinity) {
    throw new RobustestError('INVALID_EPSILON', `${where}: epsilon must be a finite number ≥ 0.`, {
      expected: 'a finite number ≥ 0',
      received: show(epsilon),
    });
  }
  if (bounds && norm === 'linf' && epsilon > bounds[1] - bounds[0]) {
    const width = bounds[1] - bounds[0];
    throw new RobustestError('INVALID_EPSILON', `${where}: an L∞ epsilon of ${epsilon} is wider than the inputs' whole range [${bounds[0]}, ${bounds[1]}], so it allows any input at all.${width === 1 && epsilon <= 255 ? ` If it is in pixel units, write ${epsilon}/255 (${(epsilon / 255).toPrecision(4)}).` : ''}`, {
      expected: `an epsilon in [0, ${width}] (the width of the bounds)`,
      received: String(epsilon),
    });
  }
  return epsilon;
}
