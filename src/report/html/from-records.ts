/**
 * The HTML report of a test run: one section per robustness assertion (passing and `.not` ones
 * too, so curves and counterexamples show when everything passes), from the records the matchers
 * leave for reporters.
 */
import type { AssertionRecord } from '../table.js';
import { epsilonCell, measureOf } from '../table.js';
import type { CurveSeries, ReportDocument, ReportSection } from './document.js';
import { versions } from './environment.js';

export function runDocument(records: readonly AssertionRecord[], generated = new Date().toISOString()): ReportDocument {
  const failed = records.filter((r) => !r.passed).length;
  const seeds = [...new Set(records.map((r) => r.seed))];
  const backends = [...new Set(records.map((r) => r.backend).filter((b): b is string => typeof b === 'string'))];
  return {
    title: 'robustest: robustness assertions',
    generated,
    summary: `${records.length} robustness assertion${records.length === 1 ? '' : 's'}: ${records.length - failed} held, ${failed} failed.`,
    environment: {
      seed: seeds.length === 1 ? seeds[0]! : null,
      backend: backends.join(', ') || 'unknown',
      versions: versions(),
      ...(seeds.length > 1 ? { command: `seeds per assertion: ${seeds.join(', ')}` } : {}),
    },
    sections: records.map(section),
  };
}

function section(r: AssertionRecord): ReportSection {
  const measure = measureOf(r);
  return {
    title: r.test,
    subtitle: `${r.matcher}: ${r.attack} · ${r.model}`,
    verdict: r.passed ? 'pass' : 'fail',
    required: `${r.required}${r.epsilon !== null || r.epsilons ? ` at ε ${epsilonCell(r)}` : ''}`,
    measure: measure === 'robust' ? 'robust accuracy' : measure,
    cleanAccuracy: r.cleanAccuracy,
    norm: r.curve?.norm,
    bounds: r.bounds,
    curves: curvesOf(r),
    gallery: r.gallery ?? [],
    flags: r.flags,
    seed: r.seed,
    picture: r.picture,
    measured: r.robustAccuracy,
  };
}

function curvesOf(r: AssertionRecord): CurveSeries[] {
  if (r.curve && r.curve.epsilons.length > 0) return [{ name: r.curve.attacks.join(' + '), epsilons: r.curve.epsilons, robustAccuracy: r.curve.robustAccuracy }];
  if (r.epsilon !== null && measureOf(r) === 'robust') return [{ name: r.attack, epsilons: [r.epsilon], robustAccuracy: [r.robustAccuracy] }];
  return [];
}
