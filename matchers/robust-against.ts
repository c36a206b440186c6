/**
 * `await expect(model).toBeRobustAgainst(attack, ε, { on, atLeast })`: runs the attack on the
 * samples and passes when the robust accuracy is at least `atLeast`. Without ε (minimization
 * attacks only) a sample counts as robust when the attack found no adversarial at all.
 */
import { assertionMeta, fromReport } from './record.js';
import { evaluate } from '../src/evaluate.js';
import type { ModelLike } from '../src/model/classifier.js';
import { counterexamples, flattenInputs, isBrokenAt, type Counterexample } from '../src/report/counterexamples.js';
import { galleryOf } from '../src/report/html/gallery.js';
import type { RobustnessReport } from '../src/evaluate.js';
import { parseRobustAgainst } from './arguments.js';
import { reliabilityLines, singleAttackNote } from '../src/attacks/reliability.js';
import { robustestDefaults } from './config.js';
import { drawPicture, pictureLine, type DrawnPicture } from './counterexample-picture.js';
import { hint, type MatcherContext, type MatcherResult } from './context.js';
import { counterexampleLines, expectedReceived, fixPath, join, replayLine, reportSummary, summaryRows } from './messages.js';

/** Robust accuracy is compared with this slack so that 9/10 passes `atLeast: 0.9`. */
export const ACCURACY_SLACK = 1e-9;

export async function toBeRobustAgainst(this: MatcherContext, received: unknown, attack: unknown, epsilonOrOptions?: unknown, options?: unknown): Promise<MatcherResult> {
  const args = parseRobustAgainst(attack, epsilonOrOptions, options);
  const isNot = this.isNot === true;
  const defaults = robustestDefaults();
  const atLeast = args.atLeast ?? defaults.atLeast;
  const seed = args.seed ?? defaults.seed;
  const batchSize = args.batchSize ?? defaults.batchSize;
  const report = await evaluate(received as ModelLike, args.on, {
    attack: args.attack,
    epsilons: args.epsilon === undefined ? undefined : [args.epsilon],
    seed,
    ...(batchSize === undefined ? {} : { batchSize }),
    workers: args.workers ?? defaults.workers,
    // Fail fast: once the requirement cannot be met, the verdict is known and the rest is skipped.
    atLeast,
  });
  const robust = report.samples.filter((s) => s.correct && !isBrokenAt(s, args.epsilon)).length;
  const robustAccuracy = robust / report.count;
  const pass = robustAccuracy + ACCURACY_SLACK >= atLeast;
  const broken = counterexamples(report, await flattenInputs(args.on.inputs), args.epsilon);
  const failing = pass === isNot;
  const drawn = failing ? drawCounterexamples(this, report, broken, `${args.attack.name} ${args.epsilon ?? 'min'}`) : null;
  const picture = drawn?.written ? drawn.path : null;

  const replay = `replay it with { seed: ${seed} } in the options of toBeRobustAgainst (or configureRobustest({ seed: ${seed} })).`;
  const body = (): string =>
    join(
      hint(this, 'toBeRobustAgainst', 'model', args.epsilon === undefined ? 'attack, options' : 'attack, ε, options'),
      expectedReceived(this, 'robust accuracy', isNot ? '<' : '≥', atLeast, robustAccuracy),
      summaryRows({ ...reportSummary(report, args.epsilon, robust, broken.length), attack: args.attack.describe() }),
      counterexampleLines(broken, defaults.counterexamples, report.norm),
      stoppedEarlyLine(report),
      reliabilityLines(report.reliability),
      pass ? singleAttackNote(args.attack, robustAccuracy) : null,
      replayLine(seed, report.backend, replay, report.engine),
      pictureLine(drawn),
      fixPath(args.attack, args.epsilon, !pass),
    );
  return {
    pass,
    message: body,
    meta: assertionMeta(this, {
      matcher: 'toBeRobustAgainst',
      model: report.model,
      attack: args.attack.describe(),
      epsilon: args.epsilon ?? null,
      cleanAccuracy: report.cleanAccuracy,
      robustAccuracy,
      atLeast,
      passed: !failing,
      seed,
      picture,
      ...fromReport(report),
      gallery: galleryOf(broken.filter((c) => c.original !== null).map((c) => ({ index: c.index, label: c.label, adversarialClass: c.adversarialClass, confidence: c.adversarialConfidence, original: c.original!, adversarial: c.adversarial })), report.inputShape, report.bounds, defaults.pictureRows),
    }),
  };
}

/** Draws a failing assertion's counterexamples into its own picture file. */
export function drawCounterexamples(ctx: MatcherContext, report: RobustnessReport, broken: readonly Counterexample[], label: string): DrawnPicture | null {
  const drawable = broken.filter((c) => c.original !== null);
  const examples = drawable.map((c) => ({ index: c.index, from: c.label, to: c.adversarialClass, confidence: c.adversarialConfidence, original: c.original!, changed: c.adversarial }));
  return drawPicture(ctx, label, report.inputShape, report.bounds, examples);
}

function stoppedEarlyLine(report: RobustnessReport): string | null {
  const stop = report.stoppedEarly;
  if (stop === null || stop.unattacked === 0) return null;
  return `Stopped early: the requirement could no longer be met, so ${stop.unattacked} sample${stop.unattacked === 1 ? ' was' : 's were'} not attacked; the robust accuracy above is an upper bound.`;
}
