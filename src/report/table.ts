/**
 * One line per robustness assertion, and the end-of-run table a reporter prints from them.
 * Records are plain JSON so a test runner can carry them from its workers to its reporter.
 */

export interface AssertionRecord {
  /** The matcher that made the assertion, e.g. 'toBeRobustAgainst'. */
  matcher: string;
  test: string;
  file: string | null;
  model: string;
  attack: string;
  /** ε asked about; null when a minimization attack ran without one. */
  epsilon: number | null;
  cleanAccuracy: number;
  robustAccuracy: number;
  /** The requirement as written, e.g. '≥ 0.900' or (with .not) '< 0.900'. */
  required: string;
  /** Whether the assertion held (with `.not` taken into account). */
  passed: boolean;
  seed: number;
  picture: string | null;
}

const fixed = (v: number): string => v.toFixed(3);

export function formatRobustnessTable(records: readonly AssertionRecord[]): string {
  if (records.length === 0) return 'robustest: no robustness assertions ran.';
  const header = ['Test', 'Model', 'Attack', 'ε', 'Clean', 'Robust', 'Required', 'Verdict'];
  const rows = records.map((r) => [
    r.test,
    r.model,
    r.attack,
    r.epsilon === null ? '—' : String(r.epsilon),
    fixed(r.cleanAccuracy),
    fixed(r.robustAccuracy),
    r.required,
    r.passed ? 'pass' : 'FAIL',
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c]!.length)));
  const line = (cells: string[]): string => cells.map((cell, c) => (c >= 3 && c <= 5 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd();
  const failed = records.filter((r) => !r.passed).length;
  return [
    'Robustness assertions',
    '',
    line(header),
    line(widths.map((w) => '─'.repeat(w))),
    ...rows.map(line),
    '',
    `${records.length} robustness assertion${records.length === 1 ? '' : 's'}: ${records.length - failed} held, ${failed} failed`,
  ].join('\n');
}
