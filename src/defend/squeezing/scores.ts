/**
 * The feature-squeezing score (Xu et al. 2018): the L1 distance between the model's softmax on an
 * input and on each squeezed copy, and their maximum (the joint detector).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Classifier } from '../../model/classifier.js';
import type { Squeezer } from './squeezers.js';

export interface SqueezeScores {
  /** Per input: the maximum over squeezers. */
  joint: number[];
  /** Per squeezer, per input. */
  perSqueezer: number[][];
}

/** Softmax of the classifier's logits (log-probabilities for probability models give the same). */
export async function probabilities(clf: Classifier, x: tf.Tensor): Promise<tf.Tensor2D> {
  const logits = await clf.logits(x);
  const p = tf.softmax(logits);
  logits.dispose();
  return p;
}

export async function squeezeScores(clf: Classifier, squeezers: readonly Squeezer[], x: tf.Tensor, batchSize: number): Promise<SqueezeScores> {
  const n = x.shape[0];
  const perSqueezer = squeezers.map(() => new Array<number>(n));
  for (let start = 0; start < n; start += batchSize) {
    const end = Math.min(n, start + batchSize);
    const batch = tf.slice(x, start, end - start);
    const original = await probabilities(clf, batch);
    for (const [k, squeezer] of squeezers.entries()) {
      const squeezed = squeezer.apply(batch, clf.bounds);
      const p = await probabilities(clf, squeezed);
      const distance = tf.tidy(() => tf.sum(tf.abs(tf.sub(original, p)), 1));
      const values = await distance.data();
      tf.dispose([squeezed, p, distance]);
      for (let i = 0; i < end - start; i++) perSqueezer[k]![start + i] = values[i]!;
    }
    tf.dispose([batch, original]);
  }
  const joint = Array.from({ length: n }, (_, i) => Math.max(...perSqueezer.map((s) => s[i]!)));
  return { joint, perSqueezer };
}
