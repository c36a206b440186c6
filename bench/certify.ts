/**
 * Certification against auto_LiRPA: the bundled MNIST models, exported to an equivalent torch
 * module, bounded by both on the same digits, L∞ balls (intersected with [0, 1]) and L2 balls
 * (ours intersected with [0, 1], auto_LiRPA's not: ours bound a smaller set), in the same
 * run. Prints per model, norm, method and ε the largest difference of any margin bound, the
 * certified counts and the speed ratio (auto_LiRPA's seconds over ours: above 1× robustest is
 * faster; auto_LiRPA batched, torch on one thread; robustest on this thread as certify() runs it,
 * IBP of all digits at once, CROWN and α-CROWN one digit at a time from IBP bounds of all). The
 * margins are compared with auto_LiRPA's IBP and CROWN run one digit at a time (untimed), under
 * L2 with ours over the ball alone (untimed), and digits where a max pool's choice differs only
 * by a tie are reported apart. Each
 * side's time is the fastest of up to 30 runs (fewer once two seconds are spent), after
 * untimed runs on the same digits for 1 s (one run on two digits before α-CROWN).
 *
 *   tsx bench/certify.ts                 auto_LiRPA from $AUTO_LIRPA (default <tmp>/auto_lirpa)
 *   BENCH_OPTIONS='{"models":["mlp"]}'   a subset, as run.ts passes it; also "norms": ["l2"],
 *                                        "methods": ["ibp", "crown"], "epsilons": { "l2": [0.5] }
 *
 * auto_LiRPA is a fetched checkout outside this repository (Verified-Intelligence/auto_LiRPA),
 * run with the system python3 and its torch; without it only robustest's own figures print.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { lowerLayersModel } from '../src/certify/model.js';
import { MarginBounds, shareIntervals } from '../src/certify/margins.js';
import { BoundPropagation } from '../src/certify/propagation.js';
import { region, type CertifyNorm, type Region } from '../src/certify/region.js';
import type { BoundMethod } from '../src/certify/report.js';
import { mnistSplit } from '../examples/mnist/data.js';
import type { MnistModelName } from '../examples/mnist/models.js';
import { benchModel } from './models.js';
import { ms, ratio, s } from './timing.js';

const EPSILONS: Record<CertifyNorm, number[]> = { linf: [0.005, 0.01], l2: [0.1, 0.3] };
const DIGITS: Record<MnistModelName, number> = { mlp: 50, cnn: 20 };
const METHODS: { ours: BoundMethod; theirs: string; label: string }[] = [
  { ours: 'ibp', theirs: 'IBP', label: 'IBP  ' },
  { ours: 'crown', theirs: 'CROWN', label: 'CROWN' },
  { ours: 'alpha-crown', theirs: 'CROWN-Optimized', label: 'α-CROWN' },
];
const LIRPA = process.env.AUTO_LIRPA ?? join(tmpdir(), 'auto_lirpa');
const PYTHON = process.env.PYTHON ?? '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./python/certify_lirpa.py', import.meta.url));

/**
 * Timed runs per line, as the python side: the fastest of up to REPEATS, fewer once TIME_BUDGET
 * seconds are spent. On a shared machine other work only ever adds time, so the fastest run is the
 * one closest to what the code costs, for both sides alike; lines of a few milliseconds need many
 * runs for one of them to miss the other work.
 */
const REPEATS = 30;
const TIME_BUDGET = 2;
/** Seconds of untimed runs before the timed ones (at least one run). */
const WARM_UP = 1;

/** Seconds, or milliseconds below one second. */
const seconds = (v: number) => (v < 1 ? ms(v * 1000) : s(v));

const line = (text: string) => process.stdout.write(`${text}\n`);

/** The layers of a Sequential model as the python side rebuilds them. */
function exportLayers(model: tf.LayersModel): unknown[] {
  const out: unknown[] = [];
  for (const layer of model.layers) {
    const config = layer.getConfig() as Record<string, unknown>;
    const className = layer.getClassName();
    const values = layer.getWeights().map((w) => Array.from(w.dataSync()));
    const shapes = layer.getWeights().map((w) => w.shape);
    if (className === 'Conv2D') {
      if (config.padding !== 'valid') throw new Error(`${layer.name}: only 'valid' convolutions are exported`);
      const pairOf = (v: unknown) => (Array.isArray(v) ? v : [v, v]);
      out.push({ kind: 'conv2d', kernel: values[0], kernelShape: shapes[0], bias: values[1], strides: pairOf(config.strides), dilations: pairOf(config.dilationRate ?? 1) });
    } else if (className === 'Dense') {
      out.push({ kind: 'dense', kernel: values[0], kernelShape: shapes[0], bias: values[1] });
    } else if (className === 'MaxPooling2D') {
      out.push({ kind: 'maxpool', poolSize: config.poolSize, strides: config.strides ?? config.poolSize });
    } else if (className === 'Flatten') {
      out.push({ kind: 'flatten' });
      continue;
    } else {
      throw new Error(`${layer.name}: ${className} is not exported`);
    }
    if (config.activation === 'relu') out.push({ kind: 'relu' });
    else if (config.activation !== 'linear' && config.activation !== 'softmax' && config.activation !== undefined) throw new Error(`${layer.name}: activation ${String(config.activation)}`);
  }
  return out;
}

interface LirpaResult {
  method: string;
  norm: CertifyNorm;
  epsilon: number;
  rows: number[][];
  seconds: number;
  /** CROWN: per digit and max pool, the input each window's lower relaxation took (channels-last flat indices). */
  choices?: number[][][];
}

/** Lower bounds this close (relative) are a tie: which input wins is decided by rounding. */
const TIE = 1e-5;

/**
 * Per digit, the max-pool windows where auto_LiRPA's CROWN takes another input than ours, and how
 * many of those are not ties. Over a uniform background two inputs of a window have the same
 * lower bound in exact arithmetic; float32 rounding picks one on auto_LiRPA's side, and the
 * choice moves the margins.
 */
function choiceGaps(prop: BoundPropagation, regions: readonly Region[], theirs: readonly number[][][]): { differ: number; untied: number }[] {
  return regions.map((r, i) => {
    const state = prop.linearBounds(r);
    let differ = 0;
    let untied = 0;
    let pool = 0;
    prop.graph.nodes.forEach((node, n) => {
      const relaxation = state.relaxations[n];
      if (!relaxation || !('chosen' in relaxation)) return;
      const lower = state.slots[node.inputs[0]!]!.lower;
      const other = theirs[i]![pool++]!;
      relaxation.chosen.forEach((pick, o) => {
        const their = other[o]!;
        if (pick === their) return;
        differ++;
        if (Math.abs(lower[pick]! - lower[their]!) > TIE * (1 + Math.abs(lower[pick]!))) untied++;
      });
    });
    return { differ, untied };
  });
}

/** The largest difference of margin bounds over the digits `use` picks, and by how much ours is looser and tighter. */
function compare(ours: readonly ArrayLike<number>[], theirs: readonly number[][], use: (digit: number) => boolean): { worst: number; looser: number; tighter: number; digits: number } {
  let worst = 0;
  let looser = 0;
  let tighter = 0;
  let digits = 0;
  ours.forEach((r, i) => {
    if (!use(i)) return;
    digits++;
    Array.from(r).forEach((b, k) => {
      const d = b - theirs[i]![k]!;
      worst = Math.max(worst, Math.abs(d));
      looser = Math.max(looser, -d);
      tighter = Math.max(tighter, d);
    });
  });
  return { worst, looser, tighter, digits };
}

function runLirpa(spec: unknown): LirpaResult[] | string {
  if (!existsSync(join(LIRPA, 'auto_LiRPA'))) return `auto_LiRPA not found in ${LIRPA} (set AUTO_LIRPA to a checkout of Verified-Intelligence/auto_LiRPA)`;
  const dir = mkdtempSync(join(tmpdir(), 'robustest-certify-'));
  try {
    const path = join(dir, 'spec.json');
    writeFileSync(path, JSON.stringify(spec));
    const run = spawnSync(PYTHON, [SCRIPT, path], { env: { ...process.env, PYTHONPATH: LIRPA, PYTHONWARNINGS: 'ignore' }, encoding: 'utf8', maxBuffer: 1 << 28 });
    if (run.status !== 0) return `auto_LiRPA failed: ${(run.stderr || String(run.error)).trim().split('\n').slice(-1)[0]}`;
    return (JSON.parse(run.stdout) as { results: LirpaResult[] }).results;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function benchOne(name: MnistModelName): Promise<void> {
  const { model, weights } = await benchModel(name);
  const digits = mnistSplit('test', DIGITS[name]);
  const count = digits.count;
  const perSample = digits.images.length / count;
  const predictions = tf.tidy(() => tf.argMax(model.predict(tf.tensor4d(digits.images, [count, 28, 28, 1])) as tf.Tensor, 1).dataSync() as Int32Array);
  const correct = Array.from(predictions, (p, i) => p === digits.labels[i]);
  const prop = new BoundPropagation(lowerLayersModel(model));
  line(`certify ${name} (${weights}), ${count} test digits (${correct.filter(Boolean).length} classified correctly); ours: the ball ∩ [0, 1], auto_LiRPA: L∞ ball ∩ [0, 1], L2 ball alone`);

  const theirs = runLirpa({
    layers: exportLayers(model),
    inputs: Array.from(digits.images),
    labels: Array.from(digits.labels),
    classes: 10,
    shape: [28, 28, 1],
    epsilons: Object.fromEntries(NORMS.map((n) => [n, EPSILONS[n]])),
    methods: methodsFor(name).map((m) => m.theirs),
  });
  if (typeof theirs === 'string') line(`  ${theirs}`);

  for (const norm of NORMS) for (const method of methodsFor(name)) {
    for (const epsilon of EPSILONS[norm]) {
      // The balls and specifications are made before the clock starts, as auto_LiRPA's perturbation and C are.
      const ballOf = (i: number, bounds: [number, number]) => region(digits.images.subarray(i * perSample, (i + 1) * perSample), epsilon, norm, bounds);
      const balls = (digitCount: number) => Array.from({ length: digitCount }, (_, i) => new MarginBounds(prop, ballOf(i, [0, 1]), digits.labels[i]!));
      // As certify() runs them: IBP of all digits at once (its bounds read and dropped), or the IBP
      // bounds of all digits kept, then each method a digit at a time from them.
      const bound = (all: MarginBounds[]) => {
        if (method.ours === 'ibp') {
          return prop.intervalRowsBatch(
            all.map((b) => b.region),
            all.map((b) => b.rows),
          );
        }
        shareIntervals(prop, all);
        return all.map((bounds) => {
          bounds.refine(method.ours);
          return bounds.bounds;
        });
      };
      const boundAll = (digitCount: number) => bound(balls(digitCount));
      // Untimed runs first (the JIT's warm-up), as auto_LiRPA gets them: on every digit until
      // WARM_UP seconds are spent, or once on two digits before α-CROWN, whose seconds a warm-up
      // would not change.
      if (method.ours === 'alpha-crown') boundAll(2);
      else for (const warmStart = performance.now(); performance.now() - warmStart < WARM_UP * 1000; ) boundAll(count);
      let rows: number[][] = [];
      const times: number[] = [];
      while (times.length < REPEATS && times.reduce((a, b) => a + b, 0) < TIME_BUDGET) {
        const all = balls(count);
        const start = performance.now();
        rows = bound(all);
        times.push((performance.now() - start) / 1000);
      }
      const ours = Math.min(...times);
      const certified = rows.filter((r, i) => correct[i] && Math.min(...r) > 0).length;
      const head = `  ${method.label} ${norm === 'linf' ? 'L∞' : 'L2'} ε ${epsilon}: certified ${certified}/${count} in ${seconds(ours)}`;
      const other = typeof theirs === 'string' ? undefined : theirs.find((t) => t.method === method.theirs && t.norm === norm && t.epsilon === epsilon);
      if (!other) {
        line(head);
        continue;
      }
      // Over the set auto_LiRPA bounds: under L2 the ball alone (untimed), where ours is the ball ∩ [0, 1].
      const regions = Array.from({ length: count }, (_, i) => ballOf(i, norm === 'l2' ? [-Infinity, Infinity] : [0, 1]));
      const same = norm === 'l2' ? bound(regions.map((r, i) => new MarginBounds(prop, r, digits.labels[i]!))) : rows;
      const gaps = other.choices ? choiceGaps(prop, regions, other.choices) : [];
      // Digits whose max-pool choices differ from auto_LiRPA's only where lower bounds tie.
      const tiedAt = (i: number) => (gaps[i]?.differ ?? 0) > 0 && gaps[i]!.untied === 0;
      const plain = compare(same, other.rows, (i) => !tiedAt(i));
      const tied = compare(same, other.rows, tiedAt);
      const untied = gaps.reduce((sum, g) => sum + g.untied, 0);
      const theirCertified = other.rows.filter((r, i) => correct[i] && Math.min(...r) > 0).length;
      const parts = [`${head}; auto_LiRPA ${theirCertified}/${count} in ${seconds(other.seconds)}`, `margin bounds${same === rows ? '' : ' over the ball alone'} max |Δ| ${plain.worst.toExponential(1)} (ours looser by at most ${plain.looser.toExponential(1)})${tied.digits > 0 ? ` on ${plain.digits} digits` : ''}`];
      if (tied.digits > 0) parts.push(`${tied.digits} digit${tied.digits === 1 ? '' : 's'} where a max pool takes another of two inputs whose lower bounds tie (rounding decides): max |Δ| ${tied.worst.toExponential(1)} (ours looser by at most ${tied.looser.toExponential(1)})`);
      if (untied > 0) parts.push(`${untied} max-pool choices differ without a tie`);
      const tighter = same === rows ? 0 : compare(rows, same, () => true).tighter;
      if (tighter > 0) parts.push(`over the ball ∩ [0, 1] ours tighter by up to ${tighter.toExponential(1)}`);
      parts.push(`speed ${ratio(other.seconds / ours)} auto_LiRPA's`);
      line(parts.join(' · '));
    }
  }
  model.dispose();
}

const raw = JSON.parse(process.env.BENCH_OPTIONS ?? '{}') as { models?: MnistModelName[]; norms?: CertifyNorm[]; epsilons?: Partial<Record<CertifyNorm, number[]>>; methods?: BoundMethod[] };
Object.assign(EPSILONS, raw.epsilons ?? {});
const NORMS: CertifyNorm[] = raw.norms ?? ['linf', 'l2'];

/** α-CROWN on the CNN (every unstable neuron of its second convolution optimised) only when asked for. */
function methodsFor(name: MnistModelName): typeof METHODS {
  return raw.methods || name !== 'cnn' ? METHODS : METHODS.filter((m) => m.ours !== 'alpha-crown');
}
if (raw.methods) METHODS.splice(0, METHODS.length, ...METHODS.filter((m) => raw.methods!.includes(m.ours)));
for (const name of raw.models ?? (['mlp', 'cnn'] as MnistModelName[])) await benchOne(name);
