/** The HTML report of a bench run: its curves, worst case, reliability flags and counterexamples. */
import type { ReportDocument } from '../report/html/document.js';
import type { BenchOutcome } from './result.js';

export function benchDocument(outcome: BenchOutcome, generated = new Date().toISOString()): ReportDocument {
  const r = outcome.result;
  const worst = r.worstCase.robustAccuracy;
  const lowest = Math.min(...worst);
  const flags = r.attacks.flatMap((a) => a.reliability.map((f) => `${a.name}: ${f.message}`));
  return {
    title: `robustest bench: ${r.model.name} on ${r.data.name}`,
    generated,
    summary:
      r.failUnder === null
        ? `Worst-case robust accuracy ${lowest.toFixed(3)} at ε ${r.epsilons.length > 0 ? r.epsilons[worst.indexOf(lowest)] : '—'}; clean accuracy ${r.cleanAccuracy.toFixed(3)}.`
        : `${r.passed ? 'Passed' : 'FAILED'}: worst-case robust accuracy ${lowest.toFixed(3)} against --fail-under ${r.failUnder}.`,
    environment: { seed: r.seed, backend: r.backend, engine: r.model.format, versions: r.versions, command: r.command },
    classNames: r.data.classNames ?? undefined,
    sections: [
      {
        title: `${r.model.name} (${r.model.path})`,
        subtitle: r.attacks.map((a) => a.description).join(' · '),
        verdict: r.failUnder === null ? null : r.passed ? 'pass' : 'fail',
        required: r.failUnder === null ? undefined : `≥ ${r.failUnder}`,
        measure: 'robust accuracy',
        cleanAccuracy: r.cleanAccuracy,
        count: r.data.count,
        norm: r.norm,
        bounds: r.bounds,
        curves: r.attacks.map((a) => ({ name: a.name, epsilons: r.epsilons, robustAccuracy: a.robustAccuracy })),
        worstCase: { name: 'worst case', epsilons: r.epsilons, robustAccuracy: worst },
        flags,
        gallery: outcome.gallery,
        seed: r.seed,
      },
    ],
  };
}
