/**
 * How well a detector catches an attack: the fraction of successful adversarials it flags, for
 * the attack as given (non-adaptive) and, when asked, for the adaptive attack that targets the
 * classifier and the detector together. The adaptive figure is the worst case of both attacks:
 * a sample counts as detected only if every misclassified candidate either attack found for it
 * is flagged. Plain data, for matchers and reporters.
 */
import * as tf from '@tensorflow/tfjs-core';
import { RobustestError } from '../../errors.js';
import { currentBackend } from '../../backend.js';
import { dispose } from '../../engine/hygiene.js';
import type { Samples } from '../../samples.js';
import { ownedSamples } from '../owned-samples.js';
import { NORM_SYMBOL, type Norm } from '../../norms.js';
import type { Attack } from '../../attacks/types.js';
import { correctness } from '../training/validation.js';
import { ADAPTIVE_DEFAULTS, attackDetector } from './adaptive.js';
import type { FeatureSqueezingDetector } from './detector.js';

export interface DetectionRate {
  /** Correctly classified samples for which an attack found a misclassified input within ε. */
  successful: number;
  /** Of those, the samples whose adversarials were all flagged. */
  detected: number;
  /** detected / successful; null when there was nothing to detect. */
  rate: number | null;
  attack: string;
}

export interface DetectionReport {
  detector: string;
  model: string;
  epsilon: number;
  norm: Norm;
  seed: number;
  backend: string;
  count: number;
  /** Samples the model classifies correctly before any attack. */
  correct: number;
  /** Clean samples the detector flags (false positives on these inputs). */
  cleanFlagged: number;
  nonAdaptive: DetectionRate;
  /** Null when the adaptive attack was not run. */
  adaptive: DetectionRate | null;
}

export interface DetectionOptions {
  epsilon: number;
  seed: number;
  adaptive: boolean;
  /** Steps of the adaptive attack. */
  steps?: number;
}

function rate(successful: number, detected: number, attack: string): DetectionRate {
  return { successful, detected, rate: successful === 0 ? null : detected / successful, attack };
}

export async function measureDetection(detector: FeatureSqueezingDetector, attack: Attack, samples: Samples, options: DetectionOptions): Promise<DetectionReport> {
  const clf = detector.classifier;
  if (options.adaptive && attack.norm !== 'linf') {
    throw new RobustestError('INVALID_OPTION', `The adaptive attack on a detector runs in L∞; ${attack.name} is an ${NORM_SYMBOL[attack.norm]} attack.`, {
      expected: "an L∞ attack, or { adaptive: false } (the message then says the rate was not tested adaptively)",
      received: attack.describe(),
    });
  }
  const prepared = await ownedSamples(clf, samples, 'toDetect() on');
  const owned: tf.Tensor[] = [prepared.inputs];
  try {
    const { inputs, labels } = prepared;
    const correct = await correctness(clf, inputs, labels);
    const clean = await detector.detect(inputs);
    const run = await attack.run(clf, { inputs, labels: Array.from(labels) }, { epsilon: options.epsilon, seed: options.seed });
    owned.push(run.adversarials);
    const flagged = (await detector.detect(run.adversarials)).flags;
    const broken = correct.map((c, i) => c && run.success[i]!);
    const nonAdaptive = rate(broken.filter(Boolean).length, broken.filter((b, i) => b && flagged[i]).length, attack.describe());
    let adaptive: DetectionRate | null = null;
    if (options.adaptive) {
      const steps = options.steps ?? ADAPTIVE_DEFAULTS.steps;
      const adaptiveRun = await attackDetector(detector, inputs, labels, { epsilon: options.epsilon, seed: options.seed, steps });
      owned.push(adaptiveRun.adversarials);
      let successful = 0;
      let evaded = 0;
      correct.forEach((c, i) => {
        if (!c) return;
        const byAttack = broken[i]!;
        const byAdaptive = adaptiveRun.misclassified[i]!;
        if (!byAttack && !byAdaptive) return;
        successful++;
        if ((byAttack && !flagged[i]) || (byAdaptive && !adaptiveRun.flagged[i])) evaded++;
      });
      adaptive = rate(successful, successful - evaded, `L∞ PGD on classifier and detector together (BPDA through the squeezers), ${steps} steps, plus ${attack.name}`);
    }
    return {
      detector: detector.describe(),
      model: clf.name,
      epsilon: options.epsilon,
      norm: attack.norm,
      seed: options.seed,
      backend: currentBackend(),
      count: prepared.count,
      correct: correct.filter(Boolean).length,
      cleanFlagged: clean.flags.filter(Boolean).length,
      nonAdaptive,
      adaptive,
    };
  } finally {
    dispose(...owned);
  }
}
