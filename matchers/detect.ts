/**
 * `await expect(detector).toDetect(attack, ε, { on, atLeast, adaptive })`: the received
 * feature-squeezing detector flags at least `atLeast` of the successful adversarials. With
 * `adaptive: true` (the default) the verdict is taken on the adaptive attack, which targets the
 * classifier and the detector together, and the message gives both rates; without it, the
 * message says that the rate was not tested adaptively.
 */
import { assertionMeta } from './record.js';
import { RobustestError, show } from '../src/errors.js';
import { isDetector } from '../src/defend/squeezing/detector.js';
import { measureDetection, type DetectionRate, type DetectionReport } from '../src/defend/squeezing/detection-report.js';
import type { Samples } from '../src/samples.js';
import { isAttack } from './arguments.js';
import { checkAtLeast, checkSeed, robustestDefaults } from './config.js';
import { hint, type MatcherContext, type MatcherResult } from './context.js';
import { epsilonText, expectedReceived, fixed3, join, replayLine, table } from './messages.js';
import { ACCURACY_SLACK } from './robust-against.js';

const WHERE = 'toDetect(attack, ε, { on, atLeast, adaptive })';
const KEYS = ['on', 'atLeast', 'adaptive', 'seed'];

interface DetectArguments {
  on: Samples;
  atLeast: number | undefined;
  adaptive: boolean;
  seed: number | undefined;
}

function parse(received: unknown, attack: unknown, epsilon: unknown, options: unknown): DetectArguments {
  if (!isDetector(received)) {
    throw new RobustestError('INVALID_OPTION', `${WHERE}: expect() must receive a detector.`, {
      expected: 'await featureSqueezing(model, { calibrateOn })',
      received: show(received),
    });
  }
  if (!isAttack(attack) || attack.kind !== 'fixed-epsilon') {
    throw new RobustestError('INVALID_OPTION', `${WHERE}: the first argument must be a fixed-ε attack.`, {
      expected: 'pgd(), fgsm(), apgd(), …',
      received: isAttack(attack) ? `${attack.describe()} (a minimization attack)` : show(attack),
    });
  }
  if (typeof epsilon !== 'number' || !Number.isFinite(epsilon) || epsilon <= 0) {
    throw new RobustestError('INVALID_EPSILON', `${WHERE}: ε must be a finite number > 0 in the attack's norm.`, { expected: 'e.g. 0.1', received: show(epsilon) });
  }
  if (options === null || typeof options !== 'object' || (options as { on?: unknown }).on === undefined) {
    throw new RobustestError('INVALID_OPTION', `${WHERE}: the options must say which samples to attack.`, { expected: '{ on: { inputs, labels }, atLeast?, adaptive?, seed? }', received: show(options) });
  }
  const o = options as Record<string, unknown>;
  const unknown = Object.keys(o).filter((k) => !KEYS.includes(k));
  if (unknown.length > 0) {
    throw new RobustestError('INVALID_OPTION', `${WHERE}: unknown option ${unknown.map((k) => `\`${k}\``).join(', ')}.`, { expected: KEYS.join(', '), received: unknown.join(', ') });
  }
  if (o.adaptive !== undefined && typeof o.adaptive !== 'boolean') {
    throw new RobustestError('INVALID_OPTION', `${WHERE}: \`adaptive\` must be true or false.`, { expected: 'a boolean (default true)', received: show(o.adaptive) });
  }
  return {
    on: o.on as Samples,
    atLeast: o.atLeast === undefined ? undefined : checkAtLeast(o.atLeast, `${WHERE}: atLeast`),
    adaptive: (o.adaptive as boolean | undefined) ?? true,
    seed: o.seed === undefined ? undefined : checkSeed(o.seed, `${WHERE}: seed`),
  };
}

function rateText(r: DetectionRate): string {
  if (r.rate === null) return 'nothing to detect: the attack found no adversarial for any correctly classified sample';
  return `${fixed3(r.rate)} (${r.detected} of ${r.successful} successful adversarials flagged)`;
}

/** What the message must say about the adaptive attack, so that no detection is claimed that it removes. */
function adaptiveNote(report: DetectionReport): string {
  const { nonAdaptive, adaptive } = report;
  if (adaptive === null) {
    return (
      'Not tested against an adaptive attack: this rate only holds for an attacker who ignores the detector. ' +
      'Feature squeezing falls to attacks that target it (He et al. 2017; Carlini & Wagner 2017); leave `adaptive` at its default (true) to measure that.'
    );
  }
  if (nonAdaptive.rate !== null && adaptive.rate !== null && adaptive.rate < nonAdaptive.rate) {
    return `The adaptive attack removes detection: ${fixed3(nonAdaptive.rate)} of the plain attack's adversarials are flagged, but only ${fixed3(adaptive.rate)} once the attacker also drives the squeeze score down. The verdict uses the adaptive rate.`;
  }
  return 'The verdict uses the adaptive rate (the worst case of the attack as given and the adaptive attack).';
}

export async function toDetect(this: MatcherContext, received: unknown, attack: unknown, epsilon: unknown, options: unknown): Promise<MatcherResult> {
  const args = parse(received, attack, epsilon, options);
  if (!isDetector(received) || !isAttack(attack)) throw new Error('unreachable');
  const isNot = this.isNot === true;
  const defaults = robustestDefaults();
  const atLeast = args.atLeast ?? defaults.atLeast;
  const seed = args.seed ?? defaults.seed;
  const report = await measureDetection(received, attack, args.on, { epsilon: epsilon as number, seed, adaptive: args.adaptive });
  const verdict = report.adaptive ?? report.nonAdaptive;
  const detectionRate = verdict.rate ?? 1;
  const pass = detectionRate + ACCURACY_SLACK >= atLeast;
  const failing = pass === isNot;
  const cleanRate = report.cleanFlagged / report.count;
  const rows: [string, string][] = [
    ['Detector', report.detector],
    ['Attack', attack.describe()],
    ['ε', epsilonText(report.epsilon, report.norm)],
    ['Model', report.model],
    ['Samples', `${report.count} (${report.correct} classified correctly); ${report.cleanFlagged} clean inputs flagged (${(cleanRate * 100).toFixed(1)}%)`],
    ['Non-adaptive', rateText(report.nonAdaptive)],
  ];
  if (report.adaptive) rows.push(['Adaptive', `${rateText(report.adaptive)}; ${report.adaptive.attack}`]);
  const replay = `replay it with { seed: ${seed} } in the options of toDetect.`;
  const message = (): string =>
    join(
      hint(this, 'toDetect', 'detector', 'attack, ε, options'),
      expectedReceived(this, 'detection rate', isNot ? '<' : '≥', atLeast, detectionRate, report.adaptive ? ' (adaptive attack)' : ' (non-adaptive attack only)'),
      table(rows),
      adaptiveNote(report),
      replayLine(seed, report.backend, replay),
    );
  return {
    pass,
    message,
    meta: assertionMeta(this, {
      matcher: 'toDetect',
      model: report.model,
      attack: report.adaptive ? `${attack.describe()} + adaptive` : attack.describe(),
      epsilon: report.epsilon,
      cleanAccuracy: report.correct / report.count,
      robustAccuracy: detectionRate,
      measure: 'detected',
      atLeast,
      passed: !failing,
      seed,
      backend: report.backend,
    }),
  };
}
