/**
 * certify(): sound lower bounds of each sample's margin over the ε-ball (intersected with the
 * classifier's bounds), by IBP, CROWN or α-CROWN, or 'auto' — IBP first, then CROWN, then
 * α-CROWN only where a sample is still uncertified, recording which method certified it. A
 * sample the model misclassifies is never certified.
 */
import { RobustestError, show } from '../errors.js';
import { scoped, throwIfAborted } from '../engine/hygiene.js';
import type { Classifier, ModelLike } from '../model/classifier.js';
import { checkEpsilon, prepareSamples, type Samples } from '../samples.js';
import { MarginBounds } from './margins.js';
import { boundModel } from './model.js';
import { BoundPropagation } from './propagation.js';
import { region, type CertifyNorm } from './region.js';
import type { BoundMethod, CertificationReport, CertifiedSample, CertifyMethod } from './report.js';

export interface CertifyOptions {
  epsilons: readonly number[];
  /** Default 'linf'. */
  norm?: CertifyNorm;
  /** Default 'auto'. */
  method?: CertifyMethod;
  signal?: AbortSignal;
  /** Called after each sample with the number done and the total. */
  onProgress?: (done: number, total: number) => void;
}

const METHODS: readonly CertifyMethod[] = ['ibp', 'crown', 'alpha-crown', 'auto'];
const ORDER: readonly BoundMethod[] = ['ibp', 'crown', 'alpha-crown'];

export function checkCertifyOptions(options: unknown, where: string): { epsilons: number[]; norm: CertifyNorm; method: CertifyMethod } {
  const o = (options ?? {}) as Partial<CertifyOptions>;
  if (!Array.isArray(o.epsilons) || o.epsilons.length === 0) {
    throw new RobustestError('INVALID_EPSILON', `${where}: epsilons must be a non-empty list.`, { expected: 'e.g. { epsilons: [0.01, 0.03] }', received: show(o.epsilons) });
  }
  const epsilons = o.epsilons.map((e) => checkEpsilon(e, where));
  const norm = o.norm ?? 'linf';
  if (norm !== 'linf' && norm !== 'l2') throw new RobustestError('INVALID_OPTION', `${where}: unknown norm.`, { expected: "'linf' | 'l2'", received: show(norm) });
  const method = o.method ?? 'auto';
  if (!METHODS.includes(method)) throw new RobustestError('INVALID_OPTION', `${where}: unknown method.`, { expected: METHODS.map((m) => `'${m}'`).join(' | '), received: show(method) });
  return { epsilons, norm, method };
}

function argmax(z: ArrayLike<number>, from: number, n: number): number {
  let best = 0;
  for (let j = 1; j < n; j++) if (z[from + j]! > z[from + best]!) best = j;
  return best;
}

export async function certify(model: Classifier | ModelLike, samples: Samples, options: CertifyOptions): Promise<CertificationReport> {
  const started = performance.now();
  const { epsilons, norm, method } = checkCertifyOptions(options, 'certify()');
  return scoped(async ({ backend }) => {
    const { clf, graph } = boundModel(model);
    const { inputs, labels, count } = await prepareSamples(clf, samples);
    const logits = await clf.logits(inputs);
    const z = await logits.data();
    const classes = logits.shape[1];
    const x = await inputs.data();
    const perSample = x.length / count;
    const prop = new BoundPropagation(graph);
    if (prop.outputSize !== classes) throw new RobustestError('INVALID_MODEL', 'The bound graph and the model disagree on the number of classes.', { expected: String(classes), received: String(prop.outputSize) });
    const results: CertifiedSample[] = [];
    for (let i = 0; i < count; i++) {
      throwIfAborted();
      const label = labels[i]!;
      const prediction = argmax(z, i * classes, classes);
      const correct = prediction === label;
      const center = x.subarray(i * perSample, (i + 1) * perSample);
      const sample: CertifiedSample = { index: i, label, prediction, margins: [], certified: [], certifiedBy: [] };
      for (const epsilon of epsilons) {
        const bounds = new MarginBounds(prop, region(center, epsilon, norm, clf.bounds), label, throwIfAborted);
        let by: BoundMethod | null = null;
        // A misclassified sample cannot be certified: its cheapest bound is reported.
        const plan = method === 'auto' ? (correct ? ORDER : ORDER.slice(0, 1)) : [method];
        for (const m of plan) {
          bounds.refine(m);
          if (correct && bounds.margin > 0) {
            by = m;
            break;
          }
        }
        sample.margins.push(bounds.margin);
        sample.certified.push(by !== null);
        sample.certifiedBy.push(by);
      }
      results.push(sample);
      options.onProgress?.(i + 1, count);
      // Lets an abort signal and other work in; certify is otherwise one long synchronous loop.
      await new Promise((resolve) => setImmediate(resolve));
    }
    return {
      epsilons,
      norm,
      method,
      count,
      cleanAccuracy: results.filter((s) => s.prediction === s.label).length / count,
      certifiedAccuracy: epsilons.map((_, e) => results.filter((s) => s.certified[e]).length / count),
      samples: results,
      seconds: (performance.now() - started) / 1000,
      backend,
    };
  }, options.signal);
}
