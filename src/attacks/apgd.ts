/**
 * Auto-PGD (Croce & Hein 2020), as in the AutoAttack reference implementation: PGD with
 * momentum 0.75 whose step size starts at 2ε and halves at checkpoints p_j (p_0 = 0,
 * p_1 = 0.22, p_{j+1} = p_j + max(p_j − p_{j−1} − 0.03, 0.06)) when fewer than a fraction ρ of
 * the steps since the last checkpoint increased the loss, or when the step was not halved at
 * the last checkpoint and the best loss has not improved since; after halving, the iterate
 * restarts from the best point found. Everything is per sample, so a sample leaves the loop as
 * soon as it is adversarial. With a target, the loss is the targeted DLR (AutoAttack's APGD-T)
 * unless `loss: 'ce'` asks for the targeted cross-entropy.
 */
import * as tf from '@tensorflow/tfjs-core';
import { show } from '../errors.js';
import { NORM_SYMBOL } from '../norms.js';
import { defineAttack, pick, type AttackContext } from './runner.js';
import { attackLoss } from './losses.js';
import { checkChoice, checkCriterion, checkInteger, checkKnownOptions, checkNorm, checkNumber, checkTarget } from './options.js';
import { ascentDirection, clipToBounds, perSampleColumn, projectToBall, replaceRows, takeRows } from './steps.js';
import { Found } from './iterative.js';
import { checkLossFits } from './pgd.js';
import type { Attack, CriterionSpec, TargetSpec } from './types.js';

export interface ApgdOptions {
  /** Default 'linf'. */
  norm?: 'linf' | 'l2';
  /** Default 'ce' untargeted, 'dlr' (targeted DLR) with a target; 'margin' is C&W's. */
  loss?: 'ce' | 'dlr' | 'margin';
  /** Iterations per restart. Default 100. */
  steps?: number;
  /** Runs from fresh random starts, each on the samples still unbroken. Default 1. */
  restarts?: number;
  /** Fraction of loss-increasing steps below which the step size halves. Default 0.75. */
  rho?: number;
  /** Weight α of the new step against the previous one. Default 0.75. */
  momentum?: number;
  target?: TargetSpec;
  criterion?: CriterionSpec;
}

/** AutoAttack's APGD defaults. */
export const APGD_DEFAULTS = { norm: 'linf', steps: 100, restarts: 1, rho: 0.75, momentum: 0.75 } as const;

export function apgd(options: ApgdOptions = {}): Attack {
  checkKnownOptions(options, ['norm', 'loss', 'steps', 'restarts', 'rho', 'momentum', 'target', 'criterion'], 'apgd');
  const norm = checkNorm(options.norm ?? APGD_DEFAULTS.norm, ['linf', 'l2'] as const, 'apgd');
  const target = checkTarget(options.target, 'apgd');
  const criterion = checkCriterion(options.criterion, target, { targeted: true, topK: true }, 'apgd');
  const loss = checkChoice(options.loss ?? (target !== undefined ? 'dlr' : 'ce'), ['ce', 'dlr', 'margin'] as const, 'loss', 'apgd');
  const steps = checkInteger(options.steps ?? APGD_DEFAULTS.steps, 'steps', 'apgd', 1);
  const restarts = checkInteger(options.restarts ?? APGD_DEFAULTS.restarts, 'restarts', 'apgd', 1);
  const rho = checkNumber(options.rho ?? APGD_DEFAULTS.rho, 'rho', 'apgd', 0, 1);
  const momentum = checkNumber(options.momentum ?? APGD_DEFAULTS.momentum, 'momentum', 'apgd', 0, 1);
  const resolved = { norm, loss, steps, restarts, rho, momentum, target, criterion };
  return defineAttack({
    name: 'APGD',
    norm,
    kind: 'fixed-epsilon',
    requiresGradients: true,
    options: resolved,
    describe: () =>
      `APGD (${NORM_SYMBOL[norm]}, ${target !== undefined ? 'targeted ' : ''}${loss.toUpperCase()} loss, ${steps} steps${restarts > 1 ? `, ${restarts} restarts` : ''}${target !== undefined ? `, target: ${show(target)}` : ''})`,
    rowsPerSample: (o) => o.restarts,
    async perturb(ctx) {
      checkLossFits(loss, ctx.numClasses, ctx.targets !== null, 'apgd');
      const found = new Found(ctx.x);
      const lanes = Array.from({ length: restarts }, (_, restart) =>
        [...Array(ctx.x.shape[0]).keys()].map((row) => ({ row, pass: restart, target: ctx.targets?.[row] ?? null, stream: `restart-${restart}` })),
      ).flat();
      await runLanes(ctx, lanes, resolved, firstPassWins(found, lanes));
      return found.tensor;
    },
  });
}

/** Checkpoint spacing as AutoAttack computes it: first after 22% of the steps, shrinking by 3% to at least 6%. */
export function checkpointSchedule(steps: number): { first: number; decrease: number; minimum: number } {
  return {
    first: Math.max(Math.floor(0.22 * steps), 1),
    decrease: Math.max(Math.floor(0.03 * steps), 1),
    minimum: Math.max(Math.floor(0.06 * steps), 1),
  };
}

export interface ApgdRun {
  norm: 'linf' | 'l2';
  loss: 'ce' | 'dlr' | 'margin';
  steps: number;
  rho: number;
  momentum: number;
}

/**
 * One APGD run of one sample: its batch row, its pass (a restart, or a target rank of APGD-T),
 * the class its loss pushes towards (null: untargeted) and the random stream of its start.
 */
export interface ApgdLane {
  row: number;
  pass: number;
  target: number | null;
  stream: string;
}

/** Where a run's adversarial iterates go, and which lanes stay in the run after a step. */
export interface LaneSink {
  /** Rows `positions` of `x`, whose rows are the lanes `ids`, are adversarial. */
  found(ids: readonly number[], x: tf.Tensor, positions: readonly number[]): void;
  /** Whether lane `id` is still worth running. */
  open(id: number): boolean;
}

/**
 * The sink for passes that the reference runs one after another, each on the samples the passes
 * before it left unbroken: per sample, the first adversarial of the lowest pass that finds one.
 * A pass runs on regardless of the others (its iterates depend on its own sample and stream
 * only), so stepping all passes together keeps the sequential result; a pass above one that has
 * already succeeded is closed, since in sequence it would never have run.
 */
export function firstPassWins(found: Found, lanes: readonly ApgdLane[]): LaneSink {
  const winning = new Array<number>(found.done.length).fill(Infinity);
  return {
    found(ids, x, positions) {
      const winner = new Map<number, number>();
      for (const p of positions) {
        const lane = lanes[ids[p]!]!;
        const current = winner.get(lane.row);
        if (lane.pass < winning[lane.row]! && (current === undefined || lane.pass < lanes[ids[current]!]!.pass)) winner.set(lane.row, p);
      }
      for (const [row, p] of winner) winning[row] = lanes[ids[p]!]!.pass;
      found.record(
        ids.map((id) => lanes[id]!.row),
        x,
        [...winner.values()],
      );
    },
    open: (id) => lanes[id]!.pass < winning[lanes[id]!.row]!,
  };
}

/**
 * Runs APGD on every lane at once: one model call per step for all of them. Everything is per
 * lane (step size, checkpoints, best point), so a lane's iterates are those of a run on its
 * sample alone.
 */
export async function runLanes(ctx: AttackContext, lanes: readonly ApgdLane[], o: ApgdRun, sink: LaneSink): Promise<void> {
  const epsilon = ctx.epsilon!;
  const k = ctx.criterion.kind === 'top-k' ? ctx.criterion.k : 1;
  const targeted = lanes.some((l) => l.target !== null);
  const lossFor = (ids: readonly number[]) =>
    attackLoss(
      o.loss,
      Int32Array.from(ids, (id) => ctx.labels[lanes[id]!.row]!),
      targeted ? Int32Array.from(ids, (id) => lanes[id]!.target!) : null,
      { k },
    );
  const project = (t: tf.Tensor, origin: tf.Tensor) => clipToBounds(o.norm === 'l2' ? projectToL2Ball(t, origin, epsilon) : projectToBall(t, origin, epsilon, o.norm), ctx.bounds);

  let ids = [...lanes.keys()];
  let rows = ids.map((id) => lanes[id]!.row);
  if (ids.length === 0) return;
  let x0 = takeRows(ctx.x, rows);
  // AutoAttack's start: a random direction scaled to the ball's surface in the attack's norm.
  const raw = startNoise(ctx, lanes, o.norm);
  let x = tf.tidy(() => project(tf.add(x0, tf.mul(unitScale(raw, o.norm), epsilon)), x0));
  raw.dispose();

  const first = await ctx.gradient(x, lossFor(ids), rows);
  let grad = first.gradient;
  let lossBest = Array.from(await first.loss.data());
  let adversarial = ctx.isAdversarial(first.logits, rows);
  tf.dispose([first.logits, first.loss]);

  let xBest = tf.clone(x);
  let gradBest = tf.clone(grad);
  let xOld = tf.clone(x);
  let stepSize = rows.map(() => 2 * epsilon);
  let history = lossBest.map((l) => [l]);
  let lossBestLastCheck = lossBest.slice();
  let reducedLastCheck = rows.map(() => true);
  const schedule = checkpointSchedule(o.steps);
  let checkpoint = schedule.first;
  let sinceCheck = 0;

  const narrow = (keep: number[]) => {
    const kept = [x, xOld, grad, xBest, gradBest, x0].map((t) => takeRows(t, keep));
    tf.dispose([x, xOld, grad, xBest, gradBest, x0]);
    [x, xOld, grad, xBest, gradBest, x0] = kept as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
    const take = <T>(a: T[]) => keep.map((p) => a[p]!);
    ids = take(ids);
    rows = take(rows);
    stepSize = take(stepSize);
    history = take(history);
    lossBest = take(lossBest);
    lossBestLastCheck = take(lossBestLastCheck);
    reducedLastCheck = take(reducedLastCheck);
  };
  // Adversarial iterates are kept the moment they are seen; the lanes leave at the end of the step.
  const record = (): void => {
    const hit = adversarial.flatMap((a, p) => (a ? [p] : []));
    if (hit.length > 0) sink.found(ids, x, hit);
  };
  const settle = (): boolean => {
    const keep = adversarial.flatMap((a, p) => (a || !sink.open(ids[p]!) ? [] : [p]));
    if (keep.length < ids.length) narrow(keep);
    return ids.length > 0;
  };

  record();
  if (!settle()) return dispose();
  for (let i = 0; i < o.steps; i++) {
    const a = i > 0 ? o.momentum : 1;
    const eta = perSampleColumn(stepSize, x);
    const next = tf.tidy(() => {
      const z = project(tf.add(x, tf.mul(o.norm === 'l2' ? l2Direction(grad) : ascentDirection(grad, o.norm), eta)), x0);
      return project(tf.add(tf.add(x, tf.mul(tf.sub(z, x), a)), tf.mul(tf.sub(x, xOld), 1 - a)), x0);
    });
    tf.dispose([eta, xOld]);
    xOld = x;
    x = next;
    if (i === o.steps - 1) {
      const logits = await ctx.logits(x, rows);
      adversarial = ctx.isAdversarial(logits, rows);
      logits.dispose();
      record();
      break;
    }
    const result = await ctx.gradient(x, lossFor(ids), rows);
    grad.dispose();
    grad = result.gradient;
    const values = Array.from(await result.loss.data());
    adversarial = ctx.isAdversarial(result.logits, rows);
    tf.dispose([result.logits, result.loss]);
    record();

    const improved = values.map((v, p) => v > lossBest[p]!);
    if (improved.some(Boolean)) {
      const xb = selectRows(improved, x, xBest);
      const gb = selectRows(improved, grad, gradBest);
      tf.dispose([xBest, gradBest]);
      xBest = xb;
      gradBest = gb;
    }
    values.forEach((v, p) => {
      history[p]!.push(v);
      if (improved[p]) lossBest[p] = v;
    });

    if (++sinceCheck === checkpoint) {
      const reduce = history.map((h, p) => {
        let increases = 0;
        for (let c = 0; c < checkpoint; c++) if (h[h.length - 1 - c]! > h[h.length - 2 - c]!) increases++;
        const oscillating = increases <= checkpoint * o.rho;
        const stalled = !reducedLastCheck[p] && lossBestLastCheck[p]! >= lossBest[p]!;
        return oscillating || stalled;
      });
      reducedLastCheck = reduce;
      lossBestLastCheck = lossBest.slice();
      if (reduce.some(Boolean)) {
        reduce.forEach((r, p) => r && (stepSize[p]! /= 2));
        const xr = selectRows(reduce, xBest, x);
        const gr = selectRows(reduce, gradBest, grad);
        tf.dispose([x, grad]);
        x = xr;
        grad = gr;
      }
      checkpoint = Math.max(checkpoint - schedule.decrease, schedule.minimum);
      sinceCheck = 0;
    }
    if (!settle()) break;
  }
  dispose();

  function dispose(): void {
    tf.dispose([x, xOld, grad, xBest, gradBest, x0]);
  }
}

/** Each lane's start noise from its sample's stream: uniform in [−1, 1] for L∞, Gaussian for L2. */
function startNoise(ctx: AttackContext, lanes: readonly ApgdLane[], norm: 'linf' | 'l2'): tf.Tensor {
  const streams = [...new Set(lanes.map((l) => l.stream))];
  const parts = streams.map((stream) => {
    const rows = lanes.flatMap((l) => (l.stream === stream ? [l.row] : []));
    return norm === 'linf' ? ctx.uniform(rows, -1, 1, stream) : ctx.normal(rows, stream);
  });
  if (parts.length === 1) return parts[0]!;
  // Lanes come grouped by stream in the usual case; otherwise rows are put back in lane order.
  const order = streams.flatMap((stream) => lanes.flatMap((l, id) => (l.stream === stream ? [id] : [])));
  const joined = tf.concat(parts, 0);
  tf.dispose(parts);
  if (order.every((id, p) => id === p)) return joined;
  const position = new Array<number>(lanes.length);
  order.forEach((id, p) => (position[id] = p));
  const sorted = takeRows(joined, position);
  joined.dispose();
  return sorted;
}

/**
 * Euclidean size per sample, [N, 1, …, 1], as √Σx² with Square. tf.norm squares through Pow,
 * which on wasm is some 600 times slower (33 ms for 333 MNIST rows, three times per step) and
 * off by an ulp or more on most elements; Square is exact.
 */
function l2Sizes(t: tf.Tensor): tf.Tensor {
  const flat = tf.reshape(t, [t.shape[0], -1]);
  return tf.reshape(tf.sqrt(tf.sum(tf.square(flat), 1)), [t.shape[0], ...t.shape.slice(1).map(() => 1)]);
}

/** The L2 steepest-ascent direction: the gradient at unit L2 size per sample. */
function l2Direction(gradient: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.div(gradient, tf.maximum(l2Sizes(gradient), 1e-12)));
}

/** x projected onto the L2 ball of radius ε around x0, per sample. */
function projectToL2Ball(x: tf.Tensor, x0: tf.Tensor, epsilon: number): tf.Tensor {
  return tf.tidy(() => {
    const delta = tf.sub(x, x0);
    return tf.add(x0, tf.mul(delta, tf.minimum(1, tf.div(epsilon, tf.maximum(l2Sizes(delta), 1e-12)))));
  });
}

/** t scaled per sample to unit size in `norm` (AutoAttack's `normalize`). */
function unitScale(t: tf.Tensor, norm: 'linf' | 'l2'): tf.Tensor {
  return tf.tidy(() => {
    const flat = tf.reshape(t, [t.shape[0], -1]);
    const size = norm === 'linf' ? tf.max(tf.abs(flat), 1, true) : tf.sqrt(tf.sum(tf.square(flat), 1, true));
    return tf.reshape(tf.div(flat, tf.add(size, 1e-12)), t.shape);
  });
}

/**
 * Rows of `chosen` where `take` holds, of `other` elsewhere: a row copy, where tf.where with a
 * per-row mask broadcasts the mask through Tile, which on wasm costs more than the model's
 * gradient.
 */
function selectRows(take: readonly boolean[], chosen: tf.Tensor, other: tf.Tensor): tf.Tensor {
  const positions = take.flatMap((t, p) => (t ? [p] : []));
  if (positions.length === take.length) return tf.clone(chosen);
  const rows = takeRows(chosen, positions);
  const out = replaceRows(other, positions, rows);
  rows.dispose();
  return out;
}
