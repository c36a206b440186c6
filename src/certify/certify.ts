/**
 * certify(): sound lower bounds of each sample's margin over the ε-ball (intersected with the
 * classifier's bounds), by IBP, CROWN or α-CROWN, or 'auto' — IBP on every sample first, then
 * CROWN, then α-CROWN only where a sample is still uncertified, within a time budget, recording
 * which method certified each sample. A sample the model misclassifies is never certified.
 */
import { RobustestError, show } from '../errors.js';
import { scoped, throwIfAborted } from '../engine/hygiene.js';
import type { Classifier, ModelLike } from '../model/classifier.js';
import { checkEpsilon, prepareSamples, type Samples } from '../samples.js';
import { MarginBounds, shareIntervals } from './margins.js';
import { boundModel } from './model.js';
import { region, type CertifyNorm } from './region.js';
import type { BoundMethod, CertificationReport, CertifiedSample, CertifyMethod } from './report.js';

export interface CertifyOptions {
  epsilons: readonly number[];
  /** Default 'linf'. */
  norm?: CertifyNorm;
  /** Default 'auto'. */
  method?: CertifyMethod;
  signal?: AbortSignal;
  /**
   * 'auto' only: seconds after which no stronger method is started (IBP always completes).
   * Default 60.
   */
  timeBudget?: number;
  /** Called after each sample and method with the number done and the total. */
  onProgress?: (done: number, total: number) => void;
}

export const DEFAULT_TIME_BUDGET = 60;

/** Samples bounded together in the IBP phase. */
const IBP_CHUNK = 64;

const METHODS: readonly CertifyMethod[] = ['ibp', 'crown', 'alpha-crown', 'auto'];
const ORDER: readonly BoundMethod[] = ['ibp', 'crown', 'alpha-crown'];

export function checkCertifyOptions(options: unknown, where: string): { epsilons: number[]; norm: CertifyNorm; method: CertifyMethod; timeBudget: number } {
  const o = (options ?? {}) as Partial<CertifyOptions>;
  if (!Array.isArray(o.epsilons) || o.epsilons.length === 0) {
    throw new RobustestError('INVALID_EPSILON', `${where}: epsilons must be a non-empty list.`, { expected: 'e.g. { epsilons: [0.01, 0.03] }', received: show(o.epsilons) });
  }
  const epsilons = o.epsilons.map((e) => checkEpsilon(e, where));
  const norm = o.norm ?? 'linf';
  if (norm !== 'linf' && norm !== 'l2') throw new RobustestError('INVALID_OPTION', `${where}: unknown norm.`, { expected: "'linf' | 'l2'", received: show(norm) });
  const method = o.method ?? 'auto';
  if (!METHODS.includes(method)) throw new RobustestError('INVALID_OPTION', `${where}: unknown method.`, { expected: METHODS.map((m) => `'${m}'`).join(' | '), received: show(method) });
  const timeBudget = o.timeBudget ?? DEFAULT_TIME_BUDGET;
  if (typeof timeBudget !== 'number' || !(timeBudget >= 0)) {
    throw new RobustestError('INVALID_OPTION', `${where}: timeBudget must be a number of seconds, 0 or more.`, { expected: 'e.g. { timeBudget: 30 }', received: show(timeBudget) });
  }
  return { epsilons, norm, method, timeBudget };
}

function argmax(z: ArrayLike<number>, from: number, n: number): number {
  let best = 0;
  for (let j = 1; j < n; j++) if (z[from + j]! > z[from + best]!) best = j;
  return best;
}

/** One sample at one ε: its bounds so far and the strongest method tried. */
interface Cell {
  sample: number;
  epsilon: number;
  bounds: MarginBounds;
  by: BoundMethod | null;
  strongest: BoundMethod;
}

export async function certify(model: Classifier | ModelLike, samples: Samples, options: CertifyOptions): Promise<CertificationReport> {
  const started = performance.now();
  const { epsilons, norm, method, timeBudget } = checkCertifyOptions(options, 'certify()');
  return scoped(async ({ backend }) => {
    const { clf, prop } = boundModel(model);
    const { inputs, labels, count } = await prepareSamples(clf, samples);
    const logits = await clf.logits(inputs);
    const z = await logits.data();
    const classes = logits.shape[1];
    const x = await inputs.data();
    const perSample = x.length / count;
    if (prop.outputSize !== classes) throw new RobustestError('INVALID_MODEL', 'The bound graph and the model disagree on the number of classes.', { expected: String(classes), received: String(prop.outputSize) });
    const predictions = Array.from({ length: count }, (_, i) => argmax(z, i * classes, classes));
    const correct = predictions.map((p, i) => p === labels[i]);
    const cells: Cell[][] = predictions.map((_, i) =>
      epsilons.map((epsilon, e) => ({
        sample: i,
        epsilon: e,
        bounds: new MarginBounds(prop, region(x.subarray(i * perSample, (i + 1) * perSample), epsilon, norm, clf.bounds), labels[i]!, throwIfAborted),
        by: null,
        strongest: 'ibp',
      })),
    );
    // Fixed methods run as asked. 'auto' runs IBP everywhere, then CROWN where still uncertified,
    // then α-CROWN; the budget is checked between samples, IBP always completes. A misclassified
    // sample cannot be certified: its cheapest bound is reported.
    const phases = method === 'auto' ? ORDER : [method];
    const deadline = started + timeBudget * 1000;
    let exhausted = false;
    let done = 0;
    const total = count * phases.length;
    for (const [p, m] of phases.entries()) {
      if (m === 'ibp') {
        // IBP of many samples at once: the weights are read once per block of samples.
        for (let from = 0; from < count; from += IBP_CHUNK) {
          throwIfAborted();
          const chunk = cells.slice(from, from + IBP_CHUNK).flat();
          const found = prop.intervalRowsBatch(
            chunk.map((c) => c.bounds.region),
            chunk.map((c) => c.bounds.rows),
          );
          chunk.forEach((c, k) => {
            c.bounds.refine('ibp', found[k]);
            if (correct[c.sample] && c.bounds.margin > 0) c.by = 'ibp';
          });
          done += Math.min(IBP_CHUNK, count - from);
          options.onProgress?.(done, total);
          await new Promise((resolve) => setImmediate(resolve));
        }
        continue;
      }
      const isOpen = (c: Cell) => c.by === null && (p === 0 || correct[c.sample]);
      for (let i = 0; i < count; i++) {
        throwIfAborted();
        // CROWN starts from IBP bounds: those of a block of samples are found together.
        if (i % IBP_CHUNK === 0) shareIntervals(prop, cells.slice(i, i + IBP_CHUNK).flat().filter((c) => isOpen(c) && !c.bounds.linearized).map((c) => c.bounds));
        const open = cells[i]!.filter(isOpen);
        if (method === 'auto' && p > 0 && open.length > 0 && performance.now() > deadline) {
          exhausted = true;
          break;
        }
        for (const c of open) {
          c.bounds.refine(m);
          c.strongest = m;
          if (correct[i] && c.bounds.margin > 0) c.by = m;
        }
        options.onProgress?.(++done, total);
        // Lets an abort signal and other work in; certify is otherwise one long synchronous loop.
        await new Promise((resolve) => setImmediate(resolve));
      }
      if (exhausted) break;
    }
    const results: CertifiedSample[] = cells.map((row, i) => ({
      index: i,
      label: labels[i]!,
      prediction: predictions[i]!,
      margins: row.map((c) => c.bounds.margin),
      certified: row.map((c) => c.by !== null),
      certifiedBy: row.map((c) => c.by),
      strongest: row.map((c) => c.strongest),
    }));
    return {
      epsilons,
      norm,
      method,
      count,
      cleanAccuracy: results.filter((s) => s.prediction === s.label).length / count,
      certifiedAccuracy: epsilons.map((_, e) => results.filter((s) => s.certified[e]).length / count),
      samples: results,
      budget: { seconds: timeBudget, exhausted },
      seconds: (performance.now() - started) / 1000,
      backend,
    };
  }, options.signal);
}
