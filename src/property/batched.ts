/**
 * Evaluation of perturbation values on the checked inputs with as few model calls as possible:
 * the rows of many values are packed into each call of up to `batchSize` rows. A value applies
 * the same change to an input wherever that input sits, so packing never changes a verdict.
 */
import * as tf from '@tensorflow/tfjs-core';
import { RobustestError, shapeString } from '../errors.js';
import type { Classifier } from '../model/classifier.js';
import type { Perturbation } from './perturbations/types.js';
import type { Subject } from './subject.js';
import { flippedPositions } from './change.js';
import { throwIfAborted } from '../engine/hygiene.js';
import { sliceRows } from '../engine/tfjs/rows.js';

export interface CallCounter {
  /** Model calls. */
  calls: number;
  /** Rows sent to the model. */
  rows: number;
}

export interface Classes {
  classes: Int32Array;
  /** Softmax probability of the predicted class. */
  confidences: Float32Array;
}

/** Predicted class and confidence of each row of x, in calls of at most batchSize rows. */
export async function classify(clf: Classifier, x: tf.Tensor, batchSize: number, counter: CallCounter): Promise<Classes> {
  const n = x.shape[0]!;
  const classes = new Int32Array(n);
  const confidences = new Float32Array(n);
  for (let start = 0; start < n; start += batchSize) {
    const size = Math.min(batchSize, n - start);
    const rows = size === n ? x : sliceRows(x, start, size);
    const { c, p } = await predict(clf, rows, counter);
    classes.set(c, start);
    confidences.set(p, start);
    if (rows !== x) rows.dispose();
  }
  return { classes, confidences };
}

async function predict(clf: Classifier, rows: tf.Tensor, counter: CallCounter): Promise<{ c: Int32Array; p: Float32Array }> {
  throwIfAborted();
  counter.calls++;
  counter.rows += rows.shape[0]!;
  const logits = await clf.logits(rows);
  const [best, confidence] = tf.tidy(() => [tf.argMax(logits, 1), tf.max(tf.softmax(logits), 1)]);
  logits.dispose();
  const c = (await best!.data()) as Int32Array;
  const p = (await confidence!.data()) as Float32Array;
  best!.dispose();
  confidence!.dispose();
  return { c, p };
}

/** The value applied to rows [start, end) of the checked inputs; shape and bounds checked. */
export function perturbRows(subject: Subject, value: Perturbation, start: number, end: number): tf.Tensor {
  const out = tf.tidy(() => {
    const rows = end - start === subject.x.shape[0] ? subject.x : sliceRows(subject.x, start, end - start);
    const changed = value.apply(rows, subject.clf.bounds);
    // The rows may be the caller's own tensor: an identity change must not hand it out to be disposed.
    return changed === rows ? tf.clone(rows) : changed;
  });
  if (out.shape.join() !== [end - start, ...subject.x.shape.slice(1)].join()) {
    const received = shapeString(out.shape);
    out.dispose();
    throw new RobustestError('INVALID_SHAPE', `${value.describe()} changed the shape of the inputs.`, {
      expected: shapeString([end - start, ...subject.x.shape.slice(1)]),
      received,
    });
  }
  return out;
}

/** Per checked input (by position in subject.checked), its class and confidence under the value. */
export async function classifyUnder(subject: Subject, value: Perturbation, batchSize: number, counter: CallCounter): Promise<Classes> {
  const m = subject.checked.length;
  const classes = new Int32Array(m);
  const confidences = new Float32Array(m);
  for (let start = 0; start < m; start += batchSize) {
    const end = Math.min(m, start + batchSize);
    const rows = perturbRows(subject, value, start, end);
    try {
      const { c, p } = await predict(subject.clf, rows, counter);
      classes.set(c, start);
      confidences.set(p, start);
    } finally {
      rows.dispose();
    }
  }
  return { classes, confidences };
}

/** Positions (in subject.checked) whose class the value changes. */
export async function flipsUnder(subject: Subject, value: Perturbation, batchSize: number, counter: CallCounter): Promise<number[]> {
  return flippedPositions(subject, await classifyUnder(subject, value, batchSize, counter));
}

/**
 * Evaluates values in order, packing the rows of several values into each model call. After
 * each call, `visit` gets every value completed so far with the positions it flipped; sweeping
 * stops after the call in which `visit` returns false.
 */
export async function sweep(
  subject: Subject,
  values: readonly Perturbation[],
  batchSize: number,
  counter: CallCounter,
  visit: (run: number, flips: number[]) => boolean,
): Promise<void> {
  const m = subject.checked.length;
  interface Piece {
    run: number;
    start: number;
    end: number;
  }
  const pieces: Piece[] = [];
  values.forEach((_, run) => {
    for (let start = 0; start < m; start += batchSize) pieces.push({ run, start, end: Math.min(m, start + batchSize) });
  });
  let pending: number[] = [];
  let pendingRun = -1;
  for (let p = 0; p < pieces.length; ) {
    const chunk: Piece[] = [];
    let rows = 0;
    while (p < pieces.length && rows + (pieces[p]!.end - pieces[p]!.start) <= batchSize) {
      chunk.push(pieces[p]!);
      rows += pieces[p]!.end - pieces[p]!.start;
      p++;
    }
    const parts = chunk.map((piece) => perturbRows(subject, values[piece.run]!, piece.start, piece.end));
    const batch = parts.length === 1 ? parts[0]! : tf.concat(parts, 0);
    let predicted: Int32Array;
    try {
      predicted = (await predict(subject.clf, batch, counter)).c;
    } finally {
      if (batch !== parts[0]) batch.dispose();
      parts.forEach((t) => t.dispose());
    }
    let offset = 0;
    let goOn = true;
    for (const piece of chunk) {
      if (piece.run !== pendingRun) {
        pending = [];
        pendingRun = piece.run;
      }
      for (let k = piece.start; k < piece.end; k++, offset++) if (predicted[offset] !== subject.reference[k]) pending.push(k);
      if (piece.end === m) goOn = visit(piece.run, pending) && goOn;
    }
    if (!goOn) return;
  }
}
