/**
 * Checks of what a model returns. A verdict is only as good as the scores it is read from, so
 * scores of the wrong shape, type or value are an INVALID_OUTPUT error, never a verdict.
 */
import * as tf from '@tensorflow/tfjs-core';
import { RobustestError, shapeString, show } from '../errors.js';

/** True when every row is a probability vector (entries in [0, 1], sum 1 within 1e-3). */
export function looksLikeProbabilities(scores: tf.Tensor2D): boolean {
  const [minimum, maximum, worstSum] = rowStats(scores);
  return minimum >= 0 && maximum <= 1 && worstSum <= 1e-3;
}

function rowStats(scores: tf.Tensor2D): [minimum: number, maximum: number, worstSum: number] {
  return tf
    .tidy(() => [tf.min(scores), tf.max(scores), tf.max(tf.abs(tf.sub(tf.sum(scores, 1), 1)))])
    .map((t) => {
      const v = t.dataSync()[0]!;
      t.dispose();
      return v;
    }) as [number, number, number];
}

/** Shape and type of class scores for a batch of `rows` inputs: [rows, classes ≥ 2], floating point. */
export function checkScoreLayout(name: string, shape: readonly number[], dtype: string, rows: number): void {
  if (shape.length !== 2) {
    throw new RobustestError('INVALID_OUTPUT', `${name} must return class scores of shape [N, classes].`, {
      expected: `[${rows}, classes]`,
      received: shapeString(shape),
    });
  }
  if (shape[0] !== rows) {
    throw new RobustestError('INVALID_OUTPUT', `${name} returned ${shape[0]} rows of scores for ${rows} inputs; each input needs its own row.`, {
      expected: `[${rows}, classes]`,
      received: shapeString(shape),
    });
  }
  if (shape[1]! < 2) {
    throw new RobustestError(
      'INVALID_OUTPUT',
      `${name} returns ${shape[1]} score per input; robustest attacks classifiers with at least 2 classes. A binary model with one sigmoid output p can be wrapped as x => tf.concat([tf.sub(1, p), p], 1).`,
      { expected: `[${rows}, classes ≥ 2]`, received: shapeString(shape) },
    );
  }
  if (dtype !== 'float32' && dtype !== 'float64' && dtype !== 'float16') {
    throw new RobustestError('INVALID_OUTPUT', `${name} returns ${dtype} scores; class scores must be floating point (logits or probabilities), not class indices.`, {
      expected: 'float32 scores [N, classes]',
      received: `${dtype} ${shapeString(shape)}`,
    });
  }
}

/**
 * Every score finite: a NaN would otherwise read as class 0 and count label-0 samples as robust.
 * Read on the host in one pass (scores are small), as it runs on every model query.
 */
export function checkFinite(name: string, scores: tf.Tensor2D): void {
  checkFiniteValues(name, scores.dataSync() as Float32Array, scores.shape[0], scores.shape[1]);
}

/** checkFinite for scores already on the host: `rows` rows of `classes` values. */
export function checkFiniteValues(name: string, values: Float32Array, rows: number, classes: number): void {
  let first = -1;
  let count = 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < classes; c++) {
      if (Number.isFinite(values[r * classes + c]!)) continue;
      if (first < 0) first = r;
      count++;
      break;
    }
  }
  if (first < 0) return;
  throw new RobustestError('INVALID_OUTPUT', `${name} returned non-finite scores for ${count} of ${rows} inputs (first: input ${first}); no verdict can be read from them.`, {
    expected: 'finite class scores',
    received: `row ${first}: ${show(Array.from(values.subarray(first * classes, (first + 1) * classes)))}`,
  });
}

/** Layout, type and values of class scores for a batch of `rows` inputs. */
export function checkScores(name: string, scores: tf.Tensor, rows: number): void {
  checkScoreLayout(name, scores.shape, scores.dtype, rows);
  checkFinite(name, scores as tf.Tensor2D);
}

/** A model declared to output probabilities whose rows are not probability vectors. */
export function notProbabilities(name: string, scores: tf.Tensor2D, option: string): RobustestError {
  const [minimum, maximum, worstSum] = rowStats(scores);
  return new RobustestError(
    'INVALID_OUTPUT',
    `${name} was declared to output probabilities, but its rows are not probability vectors (entries in [${minimum.toPrecision(4)}, ${maximum.toPrecision(4)}], row sums off by up to ${worstSum.toPrecision(4)}). Logits read as probabilities would give nonsense: declare ${option}.`,
    { expected: 'rows of probabilities in [0, 1] summing to 1', received: `scores in [${minimum.toPrecision(4)}, ${maximum.toPrecision(4)}]` },
  );
}
