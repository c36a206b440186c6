/**
 * prepareSamples for calls that run outside one long engine scope: the checks run inside
 * `scoped`, which frees every intermediate tensor, and the prepared inputs come back owned by
 * the caller, who disposes them.
 */
import * as tf from '@tensorflow/tfjs-core';
import { scoped } from '../engine/hygiene.js';
import type { Classifier } from '../model/classifier.js';
import { prepareSamples, type PreparedSamples, type Samples } from '../samples.js';

export function ownedSamples(clf: Classifier, samples: Samples | undefined, where: string): Promise<PreparedSamples> {
  return scoped(async (scope) => {
    const prepared = await prepareSamples(clf, samples, where);
    // prepareSamples may hand back the caller's own tensor: the copy is what the caller of this owns.
    return { ...prepared, inputs: scope.keep(tf.clone(prepared.inputs)) };
  });
}
