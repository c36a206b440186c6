/**
 * `await expect(model).toBeRobustAgainst(attack, ε, { on, atLeast })`: runs the attack on the
 * samples and passes when the robust accuracy is at least `atLeast`. Without ε (minimization
 * attacks only) a sample counts as robust when the attack found no adversarial at all.
 */
import { evaluate } from '../src/evaluate.js';
import type { ModelLike } from '../src/model/classifier.js';
import { counterexamples, flattenInputs, isBrokenAt, type Counterexample } from '../src/report/counterexamples.js';
import { amplification, isImageShape, writePicture } from '../src/report/picture.js';
import { galleryOf } from '../src/report/html/gallery.js';
import type { RobustnessReport } from '../src/evaluate.js';
import { parseRobustAgainst } from './arguments.js';
import { reliabilityLines, singleAttackNote } from '../src/attacks/reliability.js';
import { robustestDefaults, type RobustestDefaults } from './config.js';
import { hint, type MatcherContext, type MatcherResult } from './context.js';
import { displayPath, picturePath, testFile, testName } from './location.js';
import { counterexampleLines, expectedReceived, fixed3, join, replayLine, reportSummary, size, summaryRows } from './messages.js';

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
  const picture = failing ? drawCounterexamples(this, report, broken, defaults, `${args.attack.name} ${args.epsilon ?? 'min'}`) : null;

  const required = isNot ? `< ${fixed3(atLeast)}` : `≥ ${fixed3(atLeast)}`;
  const replay = `replay it with { seed: ${seed} } in the options of toBeRobustAgainst (or configureRobustest({ seed: ${seed} })).`;
  const body = (): string =>
    join(
      hint(this, 'toBeRobustAgainst', 'model', args.epsilon === undefined ? 'attack, options' : 'attack, ε, options'),
      expectedReceived(this, 'robust accuracy', isNot ? '<' : '≥', atLeast, robustAccuracy),
      summaryRows({ ...reportSummary(report, args.epsilon, robust, broken.length), attack: args.attack.describe() }),
      counterexampleLines(broken, defaults.counterexamples, report.norm),
      stoppedEarlyLine(report),
      reliabilityLines(report.reliability),
      singleAttackNote(args.attack, robustAccuracy),
      replayLine(seed, report.backend, replay),
      picture ? `Picture: ${displayPath(picture)}` : null,
    );
  return {
    pass,
    message: body,
    meta: {
      robustest: {
        record: {
          matcher: 'toBeRobustAgainst',
          test: testName(this),
          file: testFile(this),
          model: report.model,
          attack: args.attack.describe(),
          epsilon: args.epsilon ?? null,
          cleanAccuracy: report.cleanAccuracy,
          robustAccuracy,
          required,
          passed: !failing,
          seed,
          picture,
          bounds: report.bounds,
          curve: { attacks: report.attacks, norm: report.norm, epsilons: report.epsilons, robustAccuracy: report.robustAccuracy },
          gallery: galleryOf(broken.filter((c) => c.original !== null).map((c) => ({ index: c.index, label: c.label, adversarialClass: c.adversarialClass, confidence: c.adversarialConfidence, original: c.original!, adversarial: c.adversarial })), report.inputShape, report.bounds, defaults.pictureRows),
          backend: report.backend,
        },
        picture,
        hint: null,
      },
    },
  };
}

/** Writes the picture of a failing assertion's counterexamples; returns its path, or null. */
export function drawCounterexamples(ctx: MatcherContext, report: RobustnessReport, broken: readonly Counterexample[], defaults: RobustestDefaults, label: string): string | null {
  const drawable = broken.filter((c) => c.original !== null);
  if (!defaults.pictures || defaults.pictureRows === 0 || drawable.length === 0 || !isImageShape(report.inputShape)) return null;
  const path = picturePath(ctx, defaults.pictureDir, label);
  const rows = drawable.slice(0, defaults.pictureRows).map((c) => ({
    original: c.original!,
    adversarial: c.adversarial,
    caption: [
      `#${c.index}  class ${c.label} → ${c.adversarialClass}${c.adversarialConfidence === null ? '' : ` (p ${fixed3(c.adversarialConfidence)})`}`,
      `L∞ ${size(c.linf)}  L2 ${size(c.l2)}  L0 ${c.l0}  shown ×${amplification(c.original!, c.adversarial, report.bounds).toPrecision(3)}`,
    ],
  }));
  writePicture(path, rows, { shape: report.inputShape, bounds: report.bounds });
  return path;
}

function stoppedEarlyLine(report: RobustnessReport): string | null {
  const stop = report.stoppedEarly;
  if (stop === null || stop.unattacked === 0) return null;
  return `Stopped early: the requirement could no longer be met, so ${stop.unattacked} sample${stop.unattacked === 1 ? ' was' : 's were'} not attacked; the robust accuracy above is an upper bound.`;
}
