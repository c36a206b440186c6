/**
 * One line per robustness assertion, and the end-of-run table a reporter prints from them.
 * Records are plain JSON so a test runner can carry them from its workers to its reporter (and
 * through Vitest's blob reports when a run is sharded).
 */
import { formatEpsilon } from './epsilon.js';
import type { GalleryItem } from './html/gallery.js';

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
  /** What `robustAccuracy` measures when it is not robust accuracy, e.g. 'kept class'. */
  measure?: string;
  /** The ε the verdict is about when there are several (a snapshot's regressed points). */
  epsilons?: number[];
  /** Input range, so that ε prints in the input's own steps. */
  bounds?: [number, number];
  /** The robustness curve behind the assertion, when the matcher measured one. */
  curve?: { attacks: string[]; norm: string; epsilons: number[]; robustAccuracy: number[] };
  /** Counterexamples drawn as images, for the HTML report. */
  gallery?: GalleryItem[];
  backend?: string;
  /** Reliability warnings the attacks raised (AutoAttack's checks), one sentence each. */
  flags?: string[];
}

/** Columns wider than this make a terminal wrap the table. */
export const TABLE_WIDTH = 100;

const MEASURE_BY_MATCHER: Record<string, string> = {
  toBeRobustUnder: 'kept class',
  toBeInvariantUnder: 'kept class',
  toMatchRobustnessSnapshot: 'worst robust',
};

/** What a record's number is: 'robust' accuracy unless the matcher measured something else. */
export function measureOf(record: AssertionRecord): string {
  return record.measure ?? MEASURE_BY_MATCHER[record.matcher] ?? 'robust';
}

/** The ε cell: the ε asked about, the ε a snapshot regressed at, or — when there is none. */
export function epsilonCell(record: AssertionRecord): string {
  if (record.epsilons && record.epsilons.length > 0) return record.epsilons.map((e) => formatEpsilon(e, record.bounds)).join(', ');
  return formatEpsilon(record.epsilon, record.bounds);
}

const fixed = (v: number): string => v.toFixed(3);

/**
 * The table, at most `width` columns: one line of numbers and the test name (cut with … when it
 * does not fit), and under it the attack and model, indented. Tests named `file › test` are
 * grouped under a line naming their file, so that the column shows what tells them apart.
 */
export function formatRobustnessTable(records: readonly AssertionRecord[], width = TABLE_WIDTH): string {
  if (records.length === 0) return 'robustest: no robustness assertions ran.';
  const header = ['Verdict', 'ε', 'Clean', 'Measured', 'Required', 'Test'];
  const named = records.map((r) => splitTest(r.test));
  const rows = records.map((r, i) => [r.passed ? 'pass' : 'FAIL', epsilonCell(r), fixed(r.cleanAccuracy), `${fixed(r.robustAccuracy)} ${measureOf(r)}`, r.required, named[i]!.name]);
  const fixedColumns = header.length - 1;
  const widths = header.slice(0, fixedColumns).map((h, c) => Math.max(h.length, ...rows.map((row) => row[c]!.length)));
  const used = widths.reduce((a, b) => a + b + 2, 0);
  const testWidth = Math.max(12, width - used);
  const line = (cells: string[]): string =>
    cells
      .map((cell, c) => (c === fixedColumns ? cut(cell, testWidth) : c === 1 || c === 2 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)))
      .join('  ')
      .trimEnd();
  const detail = (r: AssertionRecord): string => cut(`${' '.repeat(widths[0]! + 2)}${r.passed ? '' : `seed ${r.seed} · `}${r.attack} · ${r.model}`, width);
  const failed = records.filter((r) => !r.passed).length;
  const body: string[] = [];
  records.forEach((r, i) => {
    const file = named[i]!.file;
    if (file !== null && file !== (i > 0 ? named[i - 1]!.file : null)) body.push(cut(`${file}`, width));
    body.push(line(rows[i]!), detail(r));
  });
  return [
    'Robustness assertions',
    '',
    line(header),
    line([...widths.map((w) => '─'.repeat(w)), '─'.repeat(Math.min(testWidth, Math.max(4, ...rows.map((row) => row[fixedColumns]!.length))))]),
    ...body,
    '',
    `${records.length} robustness assertion${records.length === 1 ? '' : 's'}: ${records.length - failed} held, ${failed} failed`,
  ].join('\n');
}

/** "file › test" as its two parts; names without a file stay whole. */
function splitTest(test: string): { file: string | null; name: string } {
  const at = test.indexOf(' › ');
  return at < 0 ? { file: null, name: test } : { file: test.slice(0, at), name: test.slice(at + 3) };
}

/** `text` in at most `width` characters, the end replaced by … when it is longer. */
export function cut(text: string, width: number): string {
  const chars = [...text];
  return chars.length <= width ? text : `${chars.slice(0, width - 1).join('')}…`;
}
