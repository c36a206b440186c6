/**
 * Certification against auto_LiRPA: the bundled MNIST models, exported to an equivalent torch
 * module, bounded by both on the same digits, L∞ balls (intersected with [0, 1]) and L2 balls
 * (ours intersected with [0, 1], auto_LiRPA's not: ours bound a smaller set), in the same
 * run. Prints per model, norm, method and ε the largest difference of any margin bound, the
 * certified counts and the speed ratio (auto_LiRPA's seconds over ours: above 1× robustest is
 * faster; auto_LiRPA batched, torch on one thread; robustest on this thread as certify() runs it,
 * IBP of all digits at once, CROWN and α-CROWN one digit at a time from IBP bounds of all). Each
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
import { region, type CertifyNorm } from '../src/certify/region.js';
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
      const balls = (digitCount: number) => Array.from({ length: digitCount }, (_, i) => new MarginBounds(prop, region(digits.images.subarray(i * perSample, (i + 1) * perSample), epsilon, norm, [0, 1]), digits.labels[i]!));
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
      let worst = 0;
      let looser = 0;
      rows.forEach((r, i) =>
        r.forEach((b, k) => {
          const d = b - other.rows[i]![k]!;
          worst = Math.max(worst, Math.abs(d));
          looser = Math.max(looser, -d);
        }),
      );
      const theirCertified = other.rows.filter((r, i) => correct[i] && Math.min(...r) > 0).length;
      line(
        `${head}; auto_LiRPA ${theirCertified}/${count} in ${seconds(other.seconds)} · margin bounds max |Δ| ${worst.toExponential(1)} (ours looser by at most ${Math.max(0, looser).toExponential(1)}) · speed ${ratio(other.seconds / ours)} auto_LiRPA's`,
      );
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
