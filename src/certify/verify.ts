/**
 * verify(): a certificate and an attack on the same samples and ε, read together. Per sample and
 * ε the verdict is 'certified' (no adversarial exists: a sound bound), 'falsified' (an attack, or
 * the clean input itself, is misclassified: the adversarial is returned) or 'unknown' (neither),
 * and robust accuracy is bracketed: certified ≤ robust accuracy ≤ not falsified.
 */
import { RobustestError, show } from '../errors.js';
import { evaluate } from '../evaluate.js';
import type { Attack } from '../attacks/types.js';
import type { Classifier, ModelLike } from '../model/classifier.js';
import type { Samples } from '../samples.js';
import { flattenInputs } from '../report/counterexamples.js';
import { certify } from './certify.js';
import type { CertifyNorm } from './region.js';
import type { BoundMethod, CertificationReport, CertifyMethod } from './report.js';

export type Verdict = 'certified' | 'falsified' | 'unknown';

export interface VerifyOptions {
  epsilons: readonly number[];
  /** A fixed-ε or minimization attack in the L∞ or L2 norm; its norm is the certificate's. */
  attack: Attack;
  /** Default 'auto'. */
  method?: CertifyMethod;
  /** 'auto': seconds after which no stronger bound is started (certify()'s timeBudget). */
  timeBudget?: number;
  seed?: number;
  signal?: AbortSignal;
}

export interface VerifiedSample {
  index: number;
  label: number;
  prediction: number;
  /** Per ε. */
  verdicts: Verdict[];
  /** Per ε: the certified lower bound of the margin. */
  margins: number[];
  certifiedBy: (BoundMethod | null)[];
  /** Per ε: the falsifying input (flattened), or null. The clean input when misclassified. */
  adversarials: (Float32Array | null)[];
  /** Which attack falsified the sample ('clean input' when misclassified), or null. */
  falsifiedBy: string | null;
}

export interface VerificationReport {
  epsilons: number[];
  norm: CertifyNorm;
  method: CertifyMethod;
  attack: string;
  count: number;
  cleanAccuracy: number;
  /** Per ε: [certified, not falsified], the two sides of robust accuracy. */
  robustAccuracy: [number, number][];
  samples: VerifiedSample[];
  seed: number;
  seconds: number;
  backend: string;
}

export async function verify(model: Classifier | ModelLike, samples: Samples, options: VerifyOptions): Promise<VerificationReport> {
  const started = performance.now();
  const attack = options?.attack;
  if (!attack || typeof attack.run !== 'function') {
    throw new RobustestError('INVALID_OPTION', 'verify(): options.attack must be an attack.', { expected: 'e.g. { attack: pgd(), epsilons: [0.1] }', received: show(attack) });
  }
  if (attack.norm !== 'linf' && attack.norm !== 'l2') {
    throw new RobustestError('INVALID_OPTION', `verify(): certificates are for L∞ and L2 balls; ${attack.name} attacks in ${attack.norm}.`, {
      expected: "an attack with norm 'linf' or 'l2'",
      received: attack.norm,
    });
  }
  const certified = await certify(model, samples, { epsilons: options.epsilons, norm: attack.norm, method: options.method ?? 'auto', timeBudget: options.timeBudget, signal: options.signal });
  const report = await falsify(model, samples, certified, attack, options.seed ?? 0);
  return { ...report, seconds: (performance.now() - started) / 1000 };
}

/** Reads a certification together with an attack run on the same samples and ε. */
export async function falsify(model: Classifier | ModelLike, samples: Samples, certified: CertificationReport, attack: Attack, seed: number): Promise<VerificationReport> {
  const started = performance.now();
  const attacked = await evaluate(model, samples, { attack, epsilons: certified.epsilons, seed, keepAdversarials: 'all' });
  const perSample = attacked.inputShape.reduce((a, b) => a * b, 1);
  let flat: Float32Array | null = null;
  const cleanInput = async (i: number): Promise<Float32Array> => {
    flat ??= await flattenInputs(samples.inputs);
    return flat.slice(i * perSample, (i + 1) * perSample);
  };
  const rows: VerifiedSample[] = [];
  for (const c of certified.samples) {
    const outcome = attacked.samples[c.index]!;
    const misclassified = c.prediction !== c.label;
    const adversarial = misclassified ? await cleanInput(c.index) : outcome.adversarial;
    const verdicts: Verdict[] = [];
    const adversarials: (Float32Array | null)[] = [];
    certified.epsilons.forEach((epsilon, e) => {
      const broken = misclassified || (outcome.breakingEpsilon !== null && outcome.breakingEpsilon <= epsilon);
      // An adversarial in hand outranks a bound: the bound is about exact arithmetic, the model runs in float32.
      verdicts.push(broken ? 'falsified' : c.certified[e] ? 'certified' : 'unknown');
      adversarials.push(broken ? adversarial : null);
    });
    rows.push({
      index: c.index,
      label: c.label,
      prediction: c.prediction,
      verdicts,
      margins: c.margins,
      certifiedBy: c.certifiedBy,
      adversarials,
      falsifiedBy: misclassified ? 'clean input' : outcome.brokenBy,
    });
  }
  const count = rows.length;
  return {
    epsilons: certified.epsilons,
    norm: certified.norm,
    method: certified.method,
    attack: attack.describe(),
    count,
    cleanAccuracy: certified.cleanAccuracy,
    robustAccuracy: certified.epsilons.map((_, e) => [rows.filter((r) => r.verdicts[e] === 'certified').length / count, rows.filter((r) => r.verdicts[e] !== 'falsified').length / count]),
    samples: rows,
    seed,
    seconds: certified.seconds + (performance.now() - started) / 1000,
    backend: certified.backend,
  };
}

