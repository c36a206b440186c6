/**
 * The counterexample picture of a failing assertion, in one folder layout and one caption style
 * for every matcher that draws one (toBeRobustAgainst, toBeRobustUnder, toBeInvariantUnder).
 * Writing it never decides a verdict: when the folder cannot be written, the message says so.
 */
import type { Change } from '../src/property/change.js';
import { pictureRows, type DrawnExample } from '../src/report/counterexamples.js';
import { isImageShape, writePictureOrReason } from '../src/report/picture.js';
import { robustestDefaults } from './config.js';
import type { MatcherContext } from './context.js';
import { displayPath, picturePath } from './location.js';

export type DrawnPicture = { path: string; written: true } | { path: string; written: false; reason: string };

/**
 * Draws up to `pictureRows` examples into the assertion's own file. Null when nothing is drawn:
 * pictures off, no examples, or inputs that are not images.
 */
export function drawPicture(ctx: MatcherContext, label: string, shape: readonly number[], bounds: readonly [number, number], examples: readonly DrawnExample[], identity = label): DrawnPicture | null {
  const defaults = robustestDefaults();
  if (!defaults.pictures || defaults.pictureRows === 0 || examples.length === 0 || !isImageShape(shape)) return null;
  const path = picturePath(ctx, defaults.pictureDir, label, identity);
  const reason = writePictureOrReason(path, pictureRows(examples.slice(0, defaults.pictureRows), bounds), { shape, bounds });
  return reason === null ? { path, written: true } : { path, written: false, reason };
}

/** The message line about the picture: where it is, or why there is none. */
export function pictureLine(drawn: DrawnPicture | null): string | null {
  if (drawn === null) return null;
  return drawn.written ? `Picture: ${displayPath(drawn.path)}` : `No picture was written to ${displayPath(drawn.path)} (${drawn.reason}).`;
}

/** The property matchers' pictures: one row per changed input. */
export function drawCounterexamples(ctx: MatcherContext, matcher: string, identity: string, shape: number[], bounds: [number, number], changes: readonly Change[]): DrawnPicture | null {
  const examples = changes.map((c) => ({ index: c.input, from: c.before.class, to: c.after.class, confidence: c.after.confidence, original: c.original, changed: c.perturbed }));
  return drawPicture(ctx, matcher, shape, bounds, examples, `${matcher}\u0000${identity}`);
}

/** The path a record shows: only a picture that was written. */
export function writtenPath(drawn: DrawnPicture | null): string | null {
  return drawn?.written ? displayPath(drawn.path) : null;
}

/** The property matchers' detail line about the picture, in their two-column layout. */
export function pictureDetail(drawn: DrawnPicture | null): string[] {
  if (drawn === null) return [];
  return [drawn.written ? `  picture        ${displayPath(drawn.path)}` : `  picture        none written to ${displayPath(drawn.path)} (${drawn.reason})`];
}
