/**
 * `await expect(report).toMatchRobustnessSnapshot({ tolerance })`: the first run stores the
 * robustness curve; later runs fail only when robust accuracy at a stored ε falls more than
 * `tolerance` below it. Improvements pass, with a hint to update. Curves live in a JSON file
 * next to the test file (`__snapshots__/<file>.robustness.json`), which works the same under Jest
 * and Vitest; the runner's own update mode decides what may be written: nothing new in CI mode
 * (`--ci`, `CI=true`), new curves locally, everything with `-u`.
 */
import { RobustestError, show } from '../src/errors.js';
import { certificationCurve, isCertificationReport } from '../src/certify/report.js';
import { compareCurves, curveOf, round3, type CurvePoint, type StoredCurve } from '../src/report/curve.js';
import { isUnreadable, readSnapshot, SNAPSHOT_SCHEMA, storedCurveProblem, updateSnapshot, type SnapshotRead } from '../src/report/snapshot-file.js';
import { checkOptionsObject, requireReport } from './arguments.js';
import { hint, type MatcherContext, type MatcherResult } from './context.js';
import { displayPath, nextSnapshotKey, snapshotPath, testFile, testName } from './location.js';
import { fixed3, join, table } from './messages.js';
import { formatEpsilon } from '../src/report/epsilon.js';

type UpdateMode = 'all' | 'new' | 'none';

/** What an assertion does with the file: store its curve, compare with a stored one, or neither (CI mode). */
type Decision =
  | { kind: 'write'; previous: unknown; replaced?: string }
  | { kind: 'compare'; stored: unknown }
  | { kind: 'missing' };

const NAME = 'toMatchRobustnessSnapshot';
const UPDATE_HINT = 'To store the received curve, run the tests with -u (Jest: --updateSnapshot, Vitest: --update).';
const REPAIR_HINT = 'Running the tests with -u (Jest: --updateSnapshot, Vitest: --update) rewrites it from the curves the tests measure.';

export async function toMatchRobustnessSnapshot(this: MatcherContext, received: unknown, options?: unknown): Promise<MatcherResult> {
  // A CertificationReport is stored as its certified-accuracy curve.
  const report = requireReport(isCertificationReport(received) ? { ...received, ...certificationCurve(received), samples: [], seed: 0 } : received, `${NAME}({ tolerance })`);
  const o = checkOptionsObject(options, ['tolerance'], `${NAME}({ tolerance })`);
  const tolerance = o.tolerance === undefined ? 0 : o.tolerance;
  if (typeof tolerance !== 'number' || !(tolerance >= 0 && tolerance <= 1)) {
    throw new RobustestError('INVALID_OPTION', `${NAME}({ tolerance }): tolerance is an accuracy drop, a number in [0, 1].`, {
      expected: 'a number in [0, 1], e.g. 0.02',
      received: show(tolerance),
    });
  }
  const isNot = this.isNot === true;
  const file = snapshotPath(this);
  const key = nextSnapshotKey(this);
  const mode = updateMode(this);
  const current = curveOf(report);
  // A NaN would be stored as null and fail every later run; refuse it before anything is written.
  const unstorable = storedCurveProblem(current);
  if (unstorable !== null) {
    throw new RobustestError('INVALID_OPTION', `${NAME}: the report's curve cannot be stored or compared: ${unstorable}.`, {
      expected: 'a report from evaluate(), with accuracies in [0, 1]',
      received: `robustAccuracy ${show(report.robustAccuracy)}, cleanAccuracy ${show(report.cleanAccuracy)}`,
    });
  }
  const header = hint(this, NAME, 'report', '{ tolerance }');
  const bounds: [number, number] = 'bounds' in report && Array.isArray(report.bounds) ? [report.bounds[0]!, report.bounds[1]!] : [0, 1];
  const where = `Snapshot "${key}" in ${displayPath(file)}`;
  // The reporter's row names the ε that regressed and the lowest accuracy among them.
  const result = (pass: boolean, message: () => string, note: string | null = null, regressed: readonly CurvePoint[] = []): MatcherResult => ({
    pass,
    message,
    meta: {
      robustest: {
        record: {
          matcher: NAME,
          test: testName(this),
          file: testFile(this),
          model: report.model,
          attack: report.attacks.join(' + '),
          epsilon: null,
          ...(regressed.length > 0 ? { epsilons: regressed.map((p) => p.epsilon) } : {}),
          bounds: bounds,
          cleanAccuracy: report.cleanAccuracy,
          robustAccuracy:
            regressed.length > 0 ? Math.min(...regressed.map((p) => p.current)) : report.robustAccuracy.length > 0 ? Math.min(...report.robustAccuracy) : report.cleanAccuracy,
          required: `${isNot ? 'below' : 'within'} ${tolerance} of snapshot`,
          passed: pass !== isNot,
          seed: report.seed,
          picture: null,
        },
        picture: null,
        hint: note,
      },
    },
  });

  const decide = (read: SnapshotRead): Decision => {
    if (isUnreadable(read)) {
      if (mode === 'all' && !isNot) return { kind: 'write', previous: undefined };
      throw new RobustestError('INVALID_OPTION', `${displayPath(file)} is ${read.unreadable}, so no curve in it can be compared. ${REPAIR_HINT}`, {
        expected: SNAPSHOT_SCHEMA,
        received: read.detail,
      });
    }
    const stored = read.curves[key];
    if (isNot && stored === undefined) {
      throw new RobustestError('INVALID_OPTION', `.not.${NAME}() needs a stored curve to compare with, and there is none.`, {
        expected: `${where}`,
        received: 'no stored curve',
      });
    }
    if (stored === undefined || (mode === 'all' && !isNot)) return mode === 'none' ? { kind: 'missing' } : { kind: 'write', previous: stored };
    return { kind: 'compare', stored };
  };

  let decision: Decision = decide(readSnapshot(file));
  if (decision.kind === 'write') {
    // Decided again on the newest file under its lock: another worker may have stored this key or
    // other curves since the read above, and a write must keep them all.
    decision = await updateSnapshot<Decision>(file, (latest) => {
      const again = decide(latest);
      if (again.kind !== 'write') return { write: null, result: again };
      const contents = isUnreadable(latest) ? { robustest: 1 as const, curves: {} } : latest;
      contents.curves[key] = current;
      return { write: contents, result: { ...again, replaced: isUnreadable(latest) ? latest.unreadable : undefined } };
    });
  }
  if (decision.kind === 'missing') {
    return result(false, () =>
      join(
        header,
        `No robustness curve is stored for "${key}", and new snapshots are not written in CI mode (--ci, or CI=true).`,
        curveLines('Received', current),
        `Run the test locally (or with -u) and commit ${displayPath(file)}.`,
      ),
    );
  }
  if (decision.kind === 'write') {
    const { previous, replaced } = decision;
    const verb = previous === undefined ? 'stored' : 'updated';
    const note = replaced
      ? `robustest: ${displayPath(file)} was ${replaced}; it was replaced, and curves of tests that did not run with -u are gone from it.`
      : previous === undefined
        ? `robustest: ${where} written.`
        : null;
    return result(true, () => join(header, `${where} was ${verb}.`, curveLines('Stored', current)), note);
  }
  const problem = storedCurveProblem(decision.stored);
  if (problem !== null) {
    throw new RobustestError('INVALID_OPTION', `${where} is not a robustness curve: ${problem}. ${REPAIR_HINT}`, {
      expected: '{ model, attacks, norm, count, cleanAccuracy, epsilons, robustAccuracy } with accuracies in [0, 1]',
      received: JSON.stringify(decision.stored),
    });
  }
  const stored = decision.stored as StoredCurve;
  const comparison = compareCurves(stored, current, tolerance);
  if (comparison.attackChanged || comparison.missing.length > 0) {
    const why = comparison.attackChanged
      ? `was measured with ${stored.attacks.join(' + ')} (${stored.norm}); this report with ${current.attacks.join(' + ')} (${current.norm}).`
      : `measures ε ${comparison.missing.join(', ')}, which this report does not.`;
    throw new RobustestError('INVALID_OPTION', `${where} ${why} The curves cannot be compared. ${UPDATE_HINT}`, {
      expected: `a report over ε [${stored.epsilons.join(', ')}] from ${stored.attacks.join(' + ')}`,
      received: `a report over ε [${current.epsilons.join(', ')}] from ${current.attacks.join(' + ')}`,
    });
  }
  const pass = comparison.regressions.length === 0;
  const note =
    pass && !isNot && comparison.improvements.length > 0
      ? `robustest: robust accuracy improved over ${where} at ${pointsText(comparison.improvements)}. ${UPDATE_HINT}`
      : null;
  const message = (): string =>
    isNot
      ? join(
          header,
          `Expected robust accuracy to fall more than ${tolerance} below the stored curve at some ε, and it did not.`,
          curveLines('Stored', stored),
          curveLines('Received', current),
        )
      : join(
          header,
          [
            `Robust accuracy fell more than the tolerance (${tolerance}) below ${where}:`,
            ...comparison.regressions.map(
              (p) => `  ε ${formatEpsilon(p.epsilon, bounds)}: stored ${this.utils.printExpected(p.stored)}, received ${this.utils.printReceived(p.current)} (${fixed3(p.current - p.stored)})`,
            ),
          ],
          curveLines('Stored', stored),
          curveLines('Received', current),
          `If the drop is intended: ${UPDATE_HINT}`,
        );
  return result(pass, message, note, comparison.regressions);
}

function pointsText(points: readonly CurvePoint[]): string {
  return points.map((p) => `ε ${p.epsilon} (${p.stored} → ${p.current})`).join(', ');
}

function curveLines(label: string, curve: StoredCurve): string[] {
  return [
    `${label} curve:`,
    ...table([
      ['Model', curve.model],
      ['Attack', `${curve.attacks.join(' + ')}`],
      ['Clean accuracy', `${fixed3(curve.cleanAccuracy)} (${curve.count} samples)`],
      ['Robust accuracy', curve.epsilons.map((e, i) => `ε ${e}: ${fixed3(round3(curve.robustAccuracy[i]!))}`).join(', ') || '—'],
    ]),
  ];
}

function updateMode(ctx: MatcherContext): UpdateMode {
  const mode = ctx.snapshotState?._updateSnapshot;
  if (mode === 'all' || mode === 'new' || mode === 'none') return mode;
  return process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0' ? 'none' : 'new';
}
