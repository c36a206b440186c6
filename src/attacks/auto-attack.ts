/**
 * AutoAttack (Croce & Hein, ICML 2020) as one Attack: its members run one after another, each
 * only on the samples that every member before it left robust, and a sample counts as robust
 * only if it survives them all. Versions, members, order and budgets are the reference's
 * (fra31/auto-attack): 'standard' = APGD-CE, APGD-T (9 target classes), FAB-T (9 target
 * classes), Square (5000 queries); 'plus' = APGD-CE and APGD-DLR with 5 restarts, FAB with 5
 * restarts, Square, APGD-T, FAB-T; 'rand' = APGD-CE and APGD-DLR with gradients averaged over 20
 * draws, for randomized defences. The run carries the reference's reliability checks as flags.
 */
import * as tf from '@tensorflow/tfjs-core';
import { RobustestError, show } from '../errors.js';
import { scoped } from '../engine/hygiene.js';
import { classifier, type Classifier, type ModelLike } from '../model/classifier.js';
import { checkEpsilon, prepareSamples, type Samples } from '../samples.js';
import { NORM_SYMBOL } from '../norms.js';
import { argmaxRow } from './criteria.js';
import { checkRunOptions, requireGradients } from './runner.js';
import { checkChoice, checkInteger, checkKnownOptions, checkNorm } from './options.js';
import { expectationOverTransformation, MEMBER_NAMES, memberAttack, memberFits, type MemberBudget, type MemberName } from './auto-attack-members.js';
import { CHECKED_SAMPLES, checkBlackBox, checkClassCount, checkOutputs, checkZeroGradients, type ReliabilityFlag } from './reliability.js';
import type { Attack, AttackRun, AttackRunOptions } from './types.js';
import { takeRows } from '../engine/tfjs/rows.js';

export type AutoAttackVersion = 'standard' | 'plus' | 'rand' | 'custom';

export interface AutoAttackOptions {
  /** Default 'linf'. */
  norm?: 'linf' | 'l2';
  /** Default 'standard'. */
  version?: AutoAttackVersion;
  /** The members of a 'custom' version, in order. */
  attacks?: readonly MemberName[];
  /** APGD and FAB iterations. Default 100. */
  steps?: number;
  /** Square's query budget. Default 5000. */
  queries?: number;
  /** Gradient draws averaged per APGD step in 'rand'. Default 20. */
  eotDraws?: number;
}

export const AUTO_ATTACK_VERSIONS: Record<Exclude<AutoAttackVersion, 'custom'>, readonly MemberName[]> = {
  standard: ['apgd-ce', 'apgd-t', 'fab-t', 'square'],
  plus: ['apgd-ce', 'apgd-dlr', 'fab', 'square', 'apgd-t', 'fab-t'],
  rand: ['apgd-ce', 'apgd-dlr'],
};

export const AUTO_ATTACK_DEFAULTS = { norm: 'linf', version: 'standard', steps: 100, queries: 5000, eotDraws: 20, targetClasses: 9 } as const;

/** Per member of a run: how many samples it broke and how long it took. */
export interface MemberReport {
  member: MemberName;
  attack: string;
  attacked: number;
  broken: number;
  seconds: number;
}

export interface AutoAttackRun extends AttackRun {
  reliability: ReliabilityFlag[];
  members: MemberReport[];
}

export function autoAttack(options: AutoAttackOptions = {}): Attack {
  checkKnownOptions(options, ['norm', 'version', 'attacks', 'steps', 'queries', 'eotDraws'], 'autoAttack');
  if ((options.norm as string) === 'l1') {
    throw new RobustestError('INVALID_OPTION', 'autoAttack(): the L1 version needs APGD-L1 and Square-L1, which robustest does not have; fab({ norm: "l1" }) is the L1 minimization attack.', {
      expected: "'linf' | 'l2'",
      received: "'l1'",
    });
  }
  const norm = checkNorm(options.norm ?? AUTO_ATTACK_DEFAULTS.norm, ['linf', 'l2'] as const, 'autoAttack');
  const version = checkChoice(options.version ?? AUTO_ATTACK_DEFAULTS.version, ['standard', 'plus', 'rand', 'custom'] as const, 'version', 'autoAttack');
  const steps = checkInteger(options.steps ?? AUTO_ATTACK_DEFAULTS.steps, 'steps', 'autoAttack', 1);
  const queries = checkInteger(options.queries ?? AUTO_ATTACK_DEFAULTS.queries, 'queries', 'autoAttack', 1);
  const eotDraws = checkInteger(options.eotDraws ?? AUTO_ATTACK_DEFAULTS.eotDraws, 'eotDraws', 'autoAttack', 1);
  const members = resolveMembers(version, options.attacks);
  const budget: MemberBudget = { norm, steps, queries, restarts: version === 'plus' ? 5 : 1, targetClasses: AUTO_ATTACK_DEFAULTS.targetClasses };
  const resolved = { norm, version, attacks: members, steps, queries, eotDraws };
  const describe = () =>
    `AutoAttack (${NORM_SYMBOL[norm]}, ${version}: ${members.map((m) => m.toUpperCase()).join(', ')}${steps !== 100 ? `, ${steps} steps` : ''}${members.includes('square') && queries !== 5000 ? `, ${queries} queries` : ''})`;
  return Object.freeze({
    name: 'AutoAttack',
    norm,
    kind: 'fixed-epsilon' as const,
    requiresGradients: true,
    options: Object.freeze({ ...resolved }),
    describe,
    run: (model: Classifier | ModelLike, samples: Samples, runOptions: AttackRunOptions = {}) => runEnsemble(model, samples, runOptions, { version, members, budget, eotDraws }),
  });
}

function resolveMembers(version: AutoAttackVersion, attacks: readonly MemberName[] | undefined): readonly MemberName[] {
  if (version !== 'custom') {
    if (attacks !== undefined) {
      throw new RobustestError('INVALID_OPTION', `autoAttack(): \`attacks\` chooses the members of version 'custom' only.`, {
        expected: "{ version: 'custom', attacks: [...] }",
        received: `version '${version}' with attacks ${show(attacks)}`,
      });
    }
    return AUTO_ATTACK_VERSIONS[version];
  }
  if (!Array.isArray(attacks) || attacks.length === 0 || attacks.some((a) => !MEMBER_NAMES.includes(a))) {
    throw new RobustestError('INVALID_OPTION', "autoAttack(): version 'custom' needs a list of members.", {
      expected: `attacks: a non-empty list of ${MEMBER_NAMES.map((m) => `'${m}'`).join(', ')}`,
      received: show(attacks),
    });
  }
  return Object.freeze([...attacks]);
}

interface Plan {
  version: AutoAttackVersion;
  members: readonly MemberName[];
  budget: MemberBudget;
  eotDraws: number;
}

async function runEnsemble(model: Classifier | ModelLike, samples: Samples, runOptions: AttackRunOptions, plan: Plan): Promise<AutoAttackRun> {
  return scoped(async (scope) => {
    const where = 'AutoAttack.run()';
    const clf = classifier(model);
    requireGradients(clf, 'AutoAttack');
    const { seed, batchSize } = checkRunOptions(runOptions, where);
    const epsilon = checkEpsilon(runOptions.epsilon, where, clf.bounds, plan.budget.norm);
    const { inputs, labels, count } = await prepareSamples(clf, samples);
    const ids = runOptions.sampleIds ?? [...Array(count).keys()];
    const size = inputs.size / count;

    const logits = await clf.logits(inputs);
    const z = (await logits.data()) as Float32Array;
    const probs = (await tf.softmax(logits).data()) as Float32Array;
    const classes = logits.shape[1];
    const adversarialClasses = Array.from({ length: count }, (_, i) => argmaxRow(z, i * classes, classes));
    const adversarialConfidences = adversarialClasses.map((c, i) => probs[i * classes + c]!);
    const correct = adversarialClasses.map((c, i) => c === labels[i]);
    const success = correct.map((c) => !c);
    const distances = correct.map((c) => (c ? Infinity : 0));
    const queries = new Array<number>(count).fill(1);
    let gradientEvaluations = 0;
    const data = Float32Array.from((await inputs.data()) as Float32Array);

    // The reference's checks, on its first batch of samples.
    const probe = [...Array(Math.min(count, CHECKED_SAMPLES)).keys()];
    const probeInputs = takeRows(inputs, probe);
    const reliability: ReliabilityFlag[] = await checkOutputs(clf, probeInputs, { randomized: plan.version !== 'rand' });
    probeInputs.dispose();
    const probeCorrect = probe.filter((i) => correct[i]);
    if (plan.members.some((m) => m !== 'square') && probeCorrect.length > 0) {
      const x = takeRows(inputs, probeCorrect);
      reliability.push(...(await checkZeroGradients(clf, x, Int32Array.from(probeCorrect, (i) => labels[i]!))));
      gradientEvaluations += probeCorrect.length;
      x.dispose();
    }
    reliability.push(...checkClassCount(classes, plan.members, plan.budget.targetClasses));

    const gradientModel = plan.version === 'rand' ? expectationOverTransformation(clf, plan.eotDraws) : clf;
    const members: MemberReport[] = [];
    for (const member of plan.members) {
      if (!memberFits(member, classes)) continue;
      const attack = memberAttack(member, plan.budget);
      const robust = [...Array(count).keys()].filter((i) => !success[i]);
      const started = performance.now();
      let broken = 0;
      if (robust.length > 0) {
        const subset = takeRows(inputs, robust);
        const run = await attack.run(attack.requiresGradients ? gradientModel : clf, { inputs: subset, labels: Int32Array.from(robust, (i) => labels[i]!) }, {
          epsilon,
          seed,
          ...(batchSize === undefined ? {} : { batchSize }),
          sampleIds: robust.map((i) => ids[i]!),
          ...(runOptions.signal ? { signal: runOptions.signal } : {}),
        });
        const found = (await run.adversarials.data()) as Float32Array;
        tf.dispose([run.adversarials, subset]);
        gradientEvaluations += run.gradientEvaluations;
        robust.forEach((i, k) => {
          queries[i]! += run.queries[k]!;
          if (!run.success[k]) return;
          broken++;
          success[i] = true;
          distances[i] = run.distances[k]!;
          adversarialClasses[i] = run.adversarialClasses[k]!;
          adversarialConfidences[i] = run.adversarialConfidences[k]!;
          data.set(found.subarray(k * size, (k + 1) * size), i * size);
        });
      }
      if (!attack.requiresGradients && members.some((m) => m.member !== 'square')) reliability.push(...checkBlackBox(attack.name, broken, count, epsilon));
      members.push({ member, attack: attack.describe(), attacked: robust.length, broken, seconds: (performance.now() - started) / 1000 });
    }
    const adversarials = scope.keep(tf.tensor(data, inputs.shape));
    return { success, distances, adversarials, adversarialClasses, adversarialConfidences, targets: null, gradientEvaluations, queries, reliability, members };
  }, runOptions.signal);
}
