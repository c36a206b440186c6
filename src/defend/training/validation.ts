/**
 * The per-epoch check on held-out data: clean accuracy, and robust accuracy under a robustest
 * attack at the target ε (an upper bound, like every attack figure).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Attack } from '../../attacks/types.js';
import type { Classifier } from '../../model/classifier.js';
import type { ValidationRecord } from './history.js';

const BATCH = 512;

/** Whether each sample is classified correctly. */
export async function correctness(clf: Classifier, inputs: tf.Tensor, labels: Int32Array): Promise<boolean[]> {
  const correct: boolean[] = [];
  for (let start = 0; start < labels.length; start += BATCH) {
    const end = Math.min(labels.length, start + BATCH);
    const batch = tf.slice(inputs, start, end - start);
    const logits = await clf.logits(batch);
    const predicted = tf.tidy(() => tf.argMax(logits, 1));
    const classes = await predicted.data();
    tf.dispose([batch, logits, predicted]);
    for (let i = 0; i < end - start; i++) correct.push(classes[i] === labels[start + i]);
  }
  return correct;
}

export async function validate(clf: Classifier, inputs: tf.Tensor, labels: Int32Array, attack: Attack, epsilon: number, seed: number): Promise<ValidationRecord> {
  const correct = await correctness(clf, inputs, labels);
  const run = await attack.run(clf, { inputs, labels: Array.from(labels) }, { epsilon, seed });
  run.adversarials.dispose();
  const robust = run.success.filter((broken) => !broken).length;
  return {
    cleanAccuracy: correct.filter(Boolean).length / labels.length,
    robustAccuracy: robust / labels.length,
    attack: attack.describe(),
    epsilon,
    samples: labels.length,
  };
}
