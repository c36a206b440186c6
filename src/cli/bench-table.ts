/**
 * The robust-accuracy table `robustest bench` ends with: one row per ε, one column per attack and
 * the worst case, within 100 columns (long attack names are cut).
 */
import { formatEpsilon } from '../report/epsilon.js';
import { cut, TABLE_WIDTH } from '../report/table.js';
import type { BenchResult } from './result.js';

export function benchTable(result: BenchResult, width = TABLE_WIDTH): string {
  const series = [...result.attacks.map((a) => ({ name: a.name, values: a.robustAccuracy })), ...(result.attacks.length > 1 ? [{ name: 'worst case', values: result.worstCase.robustAccuracy }] : [])];
  const first = Math.max(5, ...result.epsilons.map((e) => formatEpsilon(e, result.bounds).length));
  const columnWidth = Math.max(7, Math.min(12, Math.floor((width - first) / Math.max(1, series.length)) - 2));
  const head = [`${'ε'.padStart(first)}`, ...series.map((s) => cut(s.name, columnWidth).padStart(columnWidth))].join('  ');
  const rows = [
    [`${'clean'.padStart(first)}`, ...series.map(() => result.cleanAccuracy.toFixed(3).padStart(columnWidth))].join('  '),
    ...result.epsilons.map((e, i) => [formatEpsilon(e, result.bounds).padStart(first), ...series.map((s) => s.values[i]!.toFixed(3).padStart(columnWidth))].join('  ')),
  ];
  const flags = result.attacks.flatMap((a) => a.reliability.map((f) => `  ! ${a.name}: ${f.message}`));
  const verdict =
    result.failUnder === null ? null : result.passed ? `Worst-case robust accuracy is at least ${result.failUnder} at every ε.` : `FAIL: worst-case robust accuracy falls below ${result.failUnder}.`;
  return [
    cut(`Robust accuracy of ${result.model.name} on ${result.data.count} inputs of ${result.data.name} (${result.norm}, seed ${result.seed})`, width),
    '',
    head,
    '─'.repeat(head.length),
    ...rows,
    ...(flags.length > 0 ? ['', 'Reliability:', ...flags.map((f) => cut(f, width))] : []),
    ...(verdict ? ['', verdict] : []),
  ].join('\n');
}
