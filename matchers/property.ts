/**
 * Property-based matchers:
 *   await expect(model).toBeRobustUnder(perturbations.gaussianNoise(0.1), { on: digits });
 *   await expect(model).toBeInvariantUnder(transforms.translate(1), { on: digits });
 * Pure async matcher functions over the engine's fuzz() and checkInvariance(); both messages are
 * written out, and `pass` is never inverted for `.not`.
 */
import { assertionMeta } from './record.js';
import type * as fc from 'fast-check';
import { fuzz, type FuzzReport } from '../src/property/fuzz.js';
import { checkInvariance } from '../src/property/invariance.js';
import type { FuzzOptions, InvarianceOptions, ModelInput } from '../src/property/options.js';
import type { Change } from '../src/property/change.js';
import type { Perturbation } from '../src/property/perturbations/types.js';
import type { AssertionRecord } from '../src/report/table.js';
import { galleryOf, type GalleryInput } from '../src/report/html/gallery.js';
import { robustestDefaults } from './config.js';
import { drawCounterexamples, pictureDetail, writtenPath } from './counterexample-picture.js';
import { hint, type MatcherContext, type MatcherResult } from './context.js';

const LISTED_CHANGES = 5;

export async function toBeRobustUnder(
  this: MatcherContext,
  received: ModelInput,
  perturbation: fc.Arbitrary<Perturbation> | Perturbation,
  options: FuzzOptions,
): Promise<MatcherResult> {
  const defaults = robustestDefaults();
  const report = await fuzz(received, perturbation, withDefaults(options, defaults));
  const drawn = !report.pass && !this.isNot && report.counterexample ? drawCounterexamples(this, 'toBeRobustUnder', `${report.perturbation} ${report.seed} ${report.counterexample.path}`, report.inputShape, report.bounds, [report.counterexample]) : null;
  const head = hint(this, 'toBeRobustUnder', 'model', 'perturbation');
  const requirement = report.atLeast === 1 ? 'every checked input keeps its class' : `at least ${percent(report.atLeast)} of checked inputs keep their class`;
  const scope = `${report.runs} of ${report.numRuns} perturbation${report.numRuns === 1 ? '' : 's'} evaluated, seed ${report.seed}${report.replayedPath ? `, replaying path "${report.replayedPath}"` : ''}`;
  const tally = `${report.robustInputs} of ${report.checked} checked inputs kept their class`;
  return {
    pass: report.pass,
    meta: meta(this, 'toBeRobustUnder', report.pass, {
      model: report.model,
      attack: report.perturbation,
      count: report.count,
      checked: report.checked,
      fraction: report.robustFraction,
      atLeast: report.atLeast,
      seed: report.seed,
      picture: writtenPath(drawn),
      bounds: report.bounds,
      gallery: galleryOf(report.counterexample ? [galleryInput(report.counterexample)] : [], report.inputShape, report.bounds, 1),
    }),
    message: () =>
      report.pass
        ? [
            head,
            '',
            `Expected ${report.model} not to be robust under ${report.perturbation},`,
            `but ${report.atLeast === 1 ? 'every checked input kept its class' : `at least ${percent(report.atLeast)} of checked inputs kept their class`}.`,
            '',
            `Expected: ${this.utils.printExpected(`< ${percent(report.atLeast)}`)} of checked inputs keep their class`,
            `Received: ${this.utils.printReceived(percent(report.robustFraction))} (${tally})`,
            '',
            ...details(report, scope),
          ].join('\n')
        : [
            head,
            '',
            `Expected ${report.model} to be robust under ${report.perturbation}: ${requirement}.`,
            '',
            `Expected: ${this.utils.printExpected(`≥ ${percent(report.atLeast)}`)} of checked inputs keep their class`,
            `Received: ${this.utils.printReceived(percent(report.robustFraction))} (${tally})`,
            '',
            ...counterexampleLines(this, report),
            ...details(report, scope),
            ...pictureDetail(drawn),
          ].join('\n'),
  };
}

export async function toBeInvariantUnder(
  this: MatcherContext,
  received: ModelInput,
  transform: Perturbation,
  options: InvarianceOptions,
): Promise<MatcherResult> {
  const defaults = robustestDefaults();
  const report = await checkInvariance(received, transform, {
    ...options,
    batchSize: options?.batchSize ?? defaults.batchSize,
  } as InvarianceOptions);
  const drawn =
    !report.pass && !this.isNot && report.changes.length > 0
      ? drawCounterexamples(this, 'toBeInvariantUnder', report.transform, report.inputShape, report.bounds, report.changes.slice(0, defaults.pictureRows))
      : null;
  const head = hint(this, 'toBeInvariantUnder', 'model', 'transform');
  const kept = `${report.invariantInputs} of ${report.checked} checked inputs kept their class`;
  const listed = report.changes.slice(0, LISTED_CHANGES).map((c) => `  ${changeLine(this, c)}`);
  const more = report.changes.length > LISTED_CHANGES ? [`  … and ${report.changes.length - LISTED_CHANGES} more`] : [];
  const checkedLine = checkedSummary(report.checked, report.count, report.skipped.length);
  return {
    pass: report.pass,
    meta: meta(this, 'toBeInvariantUnder', report.pass, {
      model: report.model,
      attack: report.transform,
      count: report.count,
      checked: report.checked,
      fraction: report.invariantFraction,
      atLeast: report.atLeast,
      seed: null,
      picture: writtenPath(drawn),
      bounds: report.bounds,
      gallery: galleryOf(report.changes.map(galleryInput), report.inputShape, report.bounds, defaults.pictureRows),
    }),
    message: () =>
      report.pass
        ? [
            head,
            '',
            `Expected ${report.model}'s predictions to change under ${report.transform},`,
            `but ${report.changes.length === 0 ? 'no checked input changed class' : `only ${report.changes.length} checked input${report.changes.length === 1 ? '' : 's'} changed class`}.`,
            '',
            `Expected: ${this.utils.printExpected(`< ${percent(report.atLeast)}`)} of checked inputs keep their class`,
            `Received: ${this.utils.printReceived(percent(report.invariantFraction))} (${kept})`,
            ...(listed.length > 0 ? ['', ...listed, ...more] : []),
            '',
            `  ${checkedLine}`,
          ].join('\n')
        : [
            head,
            '',
            `Expected ${report.model}'s predictions to be invariant under ${report.transform}.`,
            '',
            `Expected: ${this.utils.printExpected(`≥ ${percent(report.atLeast)}`)} of checked inputs keep their class`,
            `Received: ${this.utils.printReceived(percent(report.invariantFraction))} (${kept})`,
            '',
            ...listed,
            ...more,
            '',
            `  ${checkedLine}`,
            ...pictureDetail(drawn),
          ].join('\n'),
  };
}

function withDefaults(options: FuzzOptions, defaults: ReturnType<typeof robustestDefaults>): FuzzOptions {
  if (options === null || typeof options !== 'object') return options;
  return {
    ...options,
    seed: options.seed ?? defaults.seed,
    batchSize: options.batchSize ?? defaults.batchSize,
  };
}

function counterexampleLines(ctx: MatcherContext, report: FuzzReport): string[] {
  const c = report.counterexample;
  if (!c) return [];
  const others = c.flippedInputs.length - 1;
  return [
    `Counterexample: ${changeLine(ctx, c, false)}${others > 0 ? ` (it flips ${others} other checked input${others === 1 ? '' : 's'} too)` : ''}`,
    `  perturbation   ${c.perturbation.describe()}`,
    `  parameters     ${JSON.stringify(c.perturbation.params)}`,
    `  size           ${sizes(c)}`,
    `  found          at run ${c.run + 1} of ${report.numRuns}, shrunk ${c.shrinks} time${c.shrinks === 1 ? '' : 's'}`,
    `  replay         { seed: ${report.seed}, path: ${JSON.stringify(c.path)} }`,
  ];
}

function details(report: FuzzReport, scope: string): string[] {
  return [`  runs           ${scope}`, `  checked        ${checkedSummary(report.checked, report.count, report.skipped.length)}`];
}

function checkedSummary(checked: number, count: number, skipped: number): string {
  return skipped === 0 ? `${checked} of ${count} inputs` : `${checked} of ${count} inputs (${skipped} misclassified, skipped)`;
}

function changeLine(ctx: MatcherContext, c: Change, withSizes = true): string {
  const label = c.label === null ? '' : ` (label ${c.label})`;
  const change = `input ${c.input}${label}: class ${c.before.class} (${c.before.confidence.toFixed(3)}) → ${ctx.utils.printReceived(c.after.class)} (${c.after.confidence.toFixed(3)})`;
  return withSizes ? `${change}, ${sizes(c)}` : change;
}

function sizes(c: Change): string {
  return `L∞ ${round(c.sizes.linf)}, L2 ${round(c.sizes.l2)}, L0 ${c.sizes.l0}`;
}

function round(value: number): string {
  return String(Number(value.toPrecision(4)));
}

function percent(fraction: number): string {
  // Never round a failing fraction up to "100%".
  const digits = fraction > 0.999 && fraction < 1 ? 3 : 1;
  return `${(100 * fraction).toFixed(digits).replace(/\.0+$/, '')}%`;
}

/**
 * The assertion record for reporters. Its accuracies are over the inputs given: clean accuracy
 * is the checked share, and the robust column holds the fraction the requirement is about.
 */
function meta(
  ctx: MatcherContext,
  matcher: string,
  pass: boolean,
  r: {
    model: string;
    attack: string;
    count: number;
    checked: number;
    fraction: number;
    atLeast: number;
    seed: number | null;
    picture: string | null;
    bounds: [number, number];
    gallery: AssertionRecord['gallery'];
  },
): MatcherResult['meta'] {
  return assertionMeta(ctx, {
    matcher,
    model: r.model,
    attack: r.attack,
    epsilon: null,
    cleanAccuracy: r.checked / r.count,
    robustAccuracy: r.fraction,
    atLeast: r.atLeast,
    // Vitest leaves isNot undefined without `.not`: compare booleans, never undefined.
    passed: pass !== (ctx.isNot === true),
    seed: r.seed ?? 0,
    picture: r.picture,
    measure: 'kept class',
    bounds: r.bounds,
    gallery: r.gallery,
  });
}

function galleryInput(c: Change): GalleryInput {
  return { index: c.input, label: c.label ?? c.before.class, adversarialClass: c.after.class, confidence: c.after.confidence, original: c.original, adversarial: c.perturbed };
}
