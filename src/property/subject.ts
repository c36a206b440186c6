/**
 * The inputs a property is checked on: validated like any samples, classified once, and reduced
 * to the ones that count. With labels, only correctly classified inputs are checked (their label
 * is the class that must survive); without labels, every input is checked against its own clean
 * prediction.
 */
import * as tf from '@tensorflow/tfjs-core';
import { batchSizeFor } from '../engine/batches.js';
import { RobustestError } from '../errors.js';
import type { Classifier } from '../model/classifier.js';
import { prepareSamples, type Samples } from '../samples.js';
import { classify, type CallCounter } from './batched.js';
import type { FuzzInputs } from './options.js';
import { takeRows } from '../engine/tfjs/rows.js';

export interface Subject {
  clf: Classifier;
  /** All inputs, float32 [N, ...]; owned by the enclosing scope. */
  inputs: tf.Tensor;
  count: number;
  labels: Int32Array | null;
  /** Clean prediction and its softmax confidence, per input. */
  cleanClasses: Int32Array;
  cleanConfidences: Float32Array;
  /** Indices (into inputs) of the inputs that are checked, ascending. */
  checked: number[];
  /** Indices of labelled inputs skipped because the model misclassifies them. */
  skipped: number[];
  /** The checked inputs, [checked.length, ...]. */
  x: tf.Tensor;
  /** Per checked input, the class it must keep. */
  reference: Int32Array;
  /** Rows per model call: the user's, or one sized from the model's memory. */
  batchSize: number;
}

function splitInputs(on: FuzzInputs): { samples: Samples; labelled: boolean } {
  if (on instanceof tf.Tensor || Array.isArray(on)) {
    return { samples: { inputs: on as Samples['inputs'], labels: placeholderLabels(on) }, labelled: false };
  }
  if (typeof on === 'object' && on !== null && 'inputs' in on) {
    const { inputs, labels } = on as { inputs: Samples['inputs']; labels?: Samples['labels'] };
    if (labels === undefined) return { samples: { inputs, labels: placeholderLabels(inputs) }, labelled: false };
    return { samples: { inputs, labels }, labelled: true };
  }
  return { samples: on as Samples, labelled: true };
}

/** Class 0 for every input: valid for any classifier, replaced by the clean predictions. */
function placeholderLabels(inputs: unknown): number[] {
  const count = inputs instanceof tf.Tensor ? (inputs.shape[0] ?? 0) : Array.isArray(inputs) ? inputs.length : 0;
  return new Array<number>(count).fill(0);
}

export async function prepareSubject(clf: Classifier, on: FuzzInputs, requestedBatchSize: number | undefined, counter: CallCounter, where: string): Promise<Subject> {
  const { samples, labelled } = splitInputs(on);
  const prepared = await prepareSamples(clf, samples, `${where}: on`);
  const batchSize = requestedBatchSize ?? (await batchSizeFor(clf, prepared.inputs));
  const clean = await classify(clf, prepared.inputs, batchSize, counter);
  const labels = labelled ? prepared.labels : null;
  const checked: number[] = [];
  const skipped: number[] = [];
  for (let i = 0; i < prepared.count; i++) (labels === null || clean.classes[i] === labels[i] ? checked : skipped).push(i);
  if (checked.length === 0) {
    throw new RobustestError('INVALID_LABELS', `${where}: ${clf.name} misclassifies every one of the ${prepared.count} inputs, so no input can be checked.`, {
      expected: 'at least one input the model classifies correctly',
      received: `0 of ${prepared.count} correct`,
    });
  }
  const x = checked.length === prepared.count ? prepared.inputs : takeRows(prepared.inputs, checked);
  return {
    clf,
    inputs: prepared.inputs,
    count: prepared.count,
    labels,
    cleanClasses: clean.classes,
    cleanConfidences: clean.confidences,
    checked,
    skipped,
    x,
    reference: Int32Array.from(checked, (i) => clean.classes[i]!),
    batchSize,
  };
}
