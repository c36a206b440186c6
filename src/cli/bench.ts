/**
 * `robustest bench`: every attack over the same inputs and budgets, a curve per attack and the
 * worst case per sample over attacks (a sample is robust only if no attack broke it), as
 * RobustBench and AutoAttack report it. Inputs are attacked in fixed chunks so that progress can
 * be shown; every random choice follows from the seed and the chunking, so a run replays exactly.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ensureBackend } from '../backend.js';
import { evaluate, type SampleOutcome } from '../evaluate.js';
import { mergeFlags, type ReliabilityFlag } from '../attacks/reliability.js';
import { perturbationNorms } from '../report/counterexamples.js';
import { galleryOf } from '../report/html/gallery.js';
import { formatEpsilons } from '../report/epsilon.js';
import { robustestVersion, versions } from '../report/html/environment.js';
import type { Norm } from '../norms.js';
import { parseAttacks } from './attacks.js';
import { loadSubject, type SubjectOptions } from './subject.js';
import type { Progress } from './progress.js';
import type { BenchCounterexample, BenchOutcome, BenchResult } from './result.js';

/** Inputs per evaluate() call: the granularity of progress, fixed so that runs replay. */
export const BENCH_CHUNK = 50;
/** Counterexamples kept for the report. */
const GALLERY_SIZE = 8;
const TOLERANCE = 1e-9;

export interface BenchOptions extends SubjectOptions {
  attacks: string;
  epsilons: number[];
  norm: Norm;
  seed: number;
  failUnder: number | null;
  /** The command line, to replay the run. */
  command: string;
}

interface Broken {
  epsilon: number | null;
  attack: string;
  adversarialClass: number;
  confidence: number | null;
  adversarial: Float32Array;
}

export async function runBench(options: BenchOptions, progress: Progress): Promise<BenchOutcome> {
  const attacks = parseAttacks(options.attacks, options.norm);
  const backend = await ensureBackend();
  const { loaded, data } = await loadSubject(options);
  try {
    const clf = loaded.clf;
    const count = data.shape[0]!;
    const size = data.inputs.length / count;
    const correct: boolean[] = new Array<boolean>(count).fill(false);
    const perAttack: { breaking: (number | null)[]; seconds: number; flags: ReliabilityFlag[] }[] = [];
    const strongest: (Broken | null)[] = new Array<Broken | null>(count).fill(null);

    for (const { name, attack } of attacks) {
      const breaking: (number | null)[] = new Array<number | null>(count).fill(null);
      let flags: ReliabilityFlag[] = [];
      let seconds = 0;
      progress.start(`${name} at ε ${formatEpsilons(options.epsilons, options.bounds)}`, count);
      for (let start = 0; start < count; start += BENCH_CHUNK) {
        const end = Math.min(count, start + BENCH_CHUNK);
        const inputs = tf.tensor(data.inputs.subarray(start * size, end * size), [end - start, ...data.shape.slice(1)]);
        let outcomes: SampleOutcome[];
        try {
          const report = await evaluate(clf, { inputs, labels: Array.from(data.labels.subarray(start, end)) }, { attack, epsilons: options.epsilons, seed: options.seed, keepAdversarials: 'all' });
          outcomes = report.samples;
          seconds += report.seconds;
          flags = mergeFlags(flags, report.reliability ?? []);
        } finally {
          inputs.dispose();
        }
        for (const o of outcomes) {
          const i = start + o.index;
          correct[i] = o.correct;
          if (!o.correct) continue;
          breaking[i] = o.breakingEpsilon;
          if (o.adversarial === null || o.adversarialClass === null) continue;
          const best = strongest[i];
          const at = o.breakingEpsilon ?? Infinity;
          if (best === null || at < (best.epsilon ?? Infinity)) {
            strongest[i] = { epsilon: o.breakingEpsilon, attack: name, adversarialClass: o.adversarialClass, confidence: o.adversarialConfidence, adversarial: o.adversarial };
          }
        }
        progress.update(end);
      }
      progress.stop();
      perAttack.push({ breaking, seconds, flags });
    }

    const robustAt = (broken: (i: number) => number | null, e: number): number => {
      let robust = 0;
      for (let i = 0; i < count; i++) {
        const b = broken(i);
        if (correct[i] && (b === null || b > e + TOLERANCE)) robust++;
      }
      return robust / count;
    };
    const worst = (i: number): number | null => strongest[i]?.epsilon ?? null;
    const worstCase = options.epsilons.map((e) => robustAt(worst, e));
    const broken = strongest.flatMap((b, index) => (b && correct[index] ? [{ index, b }] : []));
    const counterexamples: BenchCounterexample[] = broken.map(({ index, b }) => ({
      index,
      label: data.labels[index]!,
      adversarialClass: b.adversarialClass,
      epsilon: b.epsilon,
      attack: b.attack,
      ...perturbationNorms(data.inputs.subarray(index * size, (index + 1) * size), b.adversarial),
    }));
    const gallery = galleryOf(
      broken.map(({ index, b }) => ({ index, label: data.labels[index]!, adversarialClass: b.adversarialClass, confidence: b.confidence, original: data.inputs.subarray(index * size, (index + 1) * size), adversarial: b.adversarial })),
      data.shape.slice(1),
      options.bounds,
      GALLERY_SIZE,
    ).map((item, k) => ({ ...item, attack: broken[k]!.b.attack, epsilon: broken[k]!.b.epsilon }));
    const passed = options.failUnder === null || worstCase.every((v) => v + TOLERANCE >= options.failUnder!);
    const result: BenchResult = {
      robustest: robustestVersion(),
      command: options.command,
      model: { path: options.model, name: clf.name, format: loaded.format },
      data: { source: options.data, name: data.name, count, shape: data.shape.slice(1), classNames: data.classNames ?? null },
      norm: options.norm,
      epsilons: [...options.epsilons],
      bounds: options.bounds,
      seed: options.seed,
      backend,
      versions: versions(),
      cleanAccuracy: correct.filter(Boolean).length / count,
      attacks: attacks.map(({ name, attack }, k) => ({
        name,
        description: attack.describe(),
        robustAccuracy: options.epsilons.map((e) => robustAt((i) => perAttack[k]!.breaking[i]!, e)),
        seconds: perAttack[k]!.seconds,
        reliability: perAttack[k]!.flags,
      })),
      worstCase: { robustAccuracy: worstCase },
      counterexamples,
      failUnder: options.failUnder,
      passed,
    };
    return { result, gallery };
  } finally {
    await loaded.release();
  }
}
