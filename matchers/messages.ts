/**
 * The text of robustness verdicts: what was attacked and how, the accuracies against the
 * requirement, the first counterexamples with their perturbation sizes, the seed that replays the
 * run, and where the picture is. Colours come from the runner's own matcher utils.
 */
import { NORM_SYMBOL, type Norm } from '../src/norms.js';
import type { RobustnessReport } from '../src/evaluate.js';
import type { Counterexample } from '../src/report/counterexamples.js';
import { formatEpsilon } from '../src/report/epsilon.js';
import type { MatcherContext } from './context.js';
import type { Attack } from '../src/attacks/types.js';
import { fixPathLines } from '../src/defend/fix-path.js';

export const fixed3 = (v: number): string => v.toFixed(3);
const r3 = (v: number): number => Number(v.toFixed(3));

/** A perturbation size, readable from 1e-6 to 1e3. */
export function size(v: number | null): string {
  if (v === null) return '?';
  if (v === 0) return '0';
  if (!Number.isFinite(v)) return String(v);
  return Math.abs(v) >= 0.001 ? v.toFixed(3) : v.toExponential(2);
}

/** "Expected … ≥ 0.9" / "Received … 0.4" with the numbers aligned and coloured by the runner. */
export function expectedReceived(ctx: MatcherContext, what: string, relation: string, required: number, received: number, note = ''): string[] {
  const pad = ' '.repeat(relation.length + 1);
  return [
    `Expected ${what}: ${relation} ${ctx.utils.printExpected(r3(required))}`,
    `Received ${what}: ${pad}${ctx.utils.printReceived(r3(received))}${note}`,
  ];
}

export function table(rows: [string, string][]): string[] {
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`);
}

export function epsilonText(epsilon: number | undefined, norm: Norm): string {
  return epsilon === undefined ? `none: any ${NORM_SYMBOL[norm]} perturbation counts` : `${formatEpsilon(epsilon)} (${NORM_SYMBOL[norm]})`;
}

export interface RunSummary {
  attack: string;
  norm: Norm;
  epsilon: number | undefined;
  model: string;
  count: number;
  correct: number;
  robust: number;
  broken: number;
}

export function summaryRows(s: RunSummary): string[] {
  const misclassified = s.count - s.correct;
  const brokenText =
    s.broken === 0
      ? `none of the ${s.correct} correctly classified samples`
      : `${s.broken} of the ${s.correct} correctly classified samples`;
  return table([
    ['Attack', s.attack],
    ['ε', epsilonText(s.epsilon, s.norm)],
    ['Model', s.model],
    ['Clean accuracy', `${fixed3(s.correct / s.count)} (${s.correct} of ${s.count} samples)`],
    ['Robust accuracy', `${fixed3(s.robust / s.count)} (${s.robust} of ${s.count} samples)`],
    ['Broken', `${brokenText}${misclassified > 0 ? `; ${misclassified} misclassified before the attack` : ''}`],
  ]);
}

/** The first `max` counterexamples, one line each. */
export function counterexampleLines(examples: readonly Counterexample[], max: number, norm: Norm): string[] {
  if (examples.length === 0 || max === 0) return [];
  const shown = examples.slice(0, max);
  const lines = shown.map((c) => {
    const confidence = c.adversarialConfidence === null ? '' : ` (confidence ${fixed3(c.adversarialConfidence)})`;
    const sizes =
      c.linf !== null ? `L∞ ${size(c.linf)}, L2 ${size(c.l2)}, L0 ${c.l0}` : `${NORM_SYMBOL[norm]} ${size(c.distance)}`;
    return `  sample ${c.index}: class ${c.label} → ${c.adversarialClass}${confidence}; ${sizes}`;
  });
  const more = examples.length - shown.length;
  return [`Counterexamples (${shown.length} of ${examples.length}):`, ...lines, ...(more > 0 ? [`  … and ${more} more`] : [])];
}

export function replayLine(seed: number, backend: string, how: string, engine?: string): string {
  return `Seed ${seed} (backend ${backend}${engine === 'onnxruntime' ? ', onnxruntime executor' : ''}): ${how}`;
}

export function reportSummary(report: RobustnessReport, epsilon: number | undefined, robust: number, broken: number): RunSummary {
  const correct = report.samples.filter((s) => s.correct).length;
  return {
    attack: report.attacks.join(' + '),
    norm: report.norm,
    epsilon,
    model: report.model,
    count: report.count,
    correct,
    robust,
    broken,
  };
}

export function join(...blocks: (string | string[] | null | undefined | false)[]): string {
  const parts = blocks.filter((b): b is string | string[] => b !== null && b !== undefined && b !== false && (typeof b === 'string' ? b.length > 0 : b.length > 0));
  return parts.map((b) => (typeof b === 'string' ? b : b.join('\n'))).join('\n\n');
}

/** The closing block of a failed robustness verdict: the adversarialTraining call against this attack and ε. */
export function fixPath(attack: Attack, epsilon: number | undefined, failedRobustness: boolean): string[] | null {
  return failedRobustness ? fixPathLines(attack, epsilon) : null;
}
