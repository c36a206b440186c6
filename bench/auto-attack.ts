/**
 * AutoAttack and salt-and-pepper against their reference implementations, in one run, on the
 * bundled MNIST models (and the adversarially trained mlp-at) and the same test digits: robustest's autoAttack() (through evaluate, ε
 * nested) against fra31/auto-attack run by Debian's python3-torch on CPU with one thread, and
 * saltAndPepper() against Foolbox 3's SaltAndPepperNoiseAttack. The models go to PyTorch as their
 * exported weights (bench/python/mnist_torch.py), and the largest logit difference between the
 * two is printed, so both sides attack the same function.
 *
 * The peers are read from a checkout given by AUTOATTACK_PATH / FOOLBOX_PATH (directories holding
 * the `autoattack` / `foolbox` packages), or else from the snapshots in ROBUSTEST_MIRROR
 * (default /work/.mirror), whose Python files are copied to a temporary directory. Without them,
 * or without python3-torch, the peer columns are skipped with a notice.
 *
 * Each AutoAttack line is followed by the seconds per member on both sides, so the ratio can be
 * read member by member. Both sides are timed warm: each gets an untimed run on four digits first.
 *
 *   npx tsx bench/auto-attack.ts [--samples 100] [--models mlp,cnn,mlp-at] [--skip salt-and-pepper]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { autoAttack, classifier, ensureBackend, evaluate, onnxruntimeClassifier, onnxruntimeNetwork, saltAndPepper, type Attack, type AutoAttackRun } from '../src/index.js';
import { mnistSamples, type MnistModelName } from '../examples/mnist/models.js';
import { benchModel } from './models.js';
import { loadHardenedMlp } from './defend-models.js';
import { ratio } from './timing.js';

function flag(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && process.argv[at + 1] ? process.argv[at + 1]! : fallback;
}

const count = Number(flag('samples', '100'));
const models = flag('models', 'mlp,cnn,mlp-at').split(',') as (MnistModelName | 'mlp-at')[];
const skip = flag('skip', '').split(',');
const SEED = 0;
// One thread on both sides: the reference runs PyTorch with one, so robustest's onnxruntime
// executor (when installed) gets one too unless ROBUSTEST_THREADS says otherwise.
process.env.ROBUSTEST_THREADS ??= '1';
/** Budgets where undefended MNIST models are partly robust. */
const SETTINGS = [
  { norm: 'linf', epsilons: [0.05, 0.1] },
  { norm: 'l2', epsilons: [0.5, 1] },
] as const;
/** mlp-at was trained against L∞ ε = 0.2: its budgets are the ones it was hardened for. */
const HARDENED_SETTINGS = [
  { norm: 'linf', epsilons: [0.1, 0.2] },
  { norm: 'l2', epsilons: [1, 1.5] },
] as const;
const MEMBERS = ['apgd-ce', 'apgd-t', 'fab-t', 'square'] as const;

const python = process.env.PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
const here = dirname(fileURLToPath(import.meta.url));

/** A directory holding `pkg`'s Python sources: the given checkout, or a copy out of the mirrored snapshot. */
function peerPath(envName: string, repo: string, pkg: string): string | null {
  const given = process.env[envName];
  if (given) return existsSync(join(given, pkg)) ? given : null;
  const gitDir = join(process.env.ROBUSTEST_MIRROR ?? '/work/.mirror', repo, 'repo');
  if (!existsSync(gitDir)) return null;
  const git = (...args: string[]) => spawnSync('git', ['--git-dir', gitDir, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const files = git('ls-tree', '-r', '--name-only', 'HEAD', pkg).stdout.split('\n').filter((f) => /\.py$|VERSION$/.test(f));
  if (files.length === 0) return null;
  const out = mkdtempSync(join(tmpdir(), `robustest-peer-${pkg}-`));
  for (const file of files) {
    mkdirSync(join(out, dirname(file)), { recursive: true });
    writeFileSync(join(out, file), git('show', `HEAD:${file}`).stdout);
  }
  return out;
}

function runPeer(script: string, path: string, exported: string): Record<string, unknown>[] | string {
  const result = spawnSync(python, [join(here, 'python', script), exported], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
    env: { ...process.env, PYTHONPATH: [path, join(here, 'python')].join(':'), OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' },
  });
  if (result.status !== 0) return (result.stderr || String(result.error)).trim().split('\n').slice(-1)[0] ?? 'failed';
  return result.stdout.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** The model's Dense and Conv2D weights, channels last, with the rest of its layers. */
function exportLayers(model: tf.LayersModel): unknown[] {
  return model.layers.map((layer) => {
    const type = layer.getClassName();
    const config = layer.getConfig() as { activation?: string; poolSize?: number | number[] };
    const [kernel, bias] = layer.getWeights();
    return {
      type,
      // The last layer's softmax is left out: both sides attack the logits.
      activation: config.activation === 'softmax' ? 'linear' : config.activation,
      poolSize: Array.isArray(config.poolSize) ? config.poolSize[0] : config.poolSize,
      ...(kernel ? { kernel: Array.from(kernel.dataSync()), kernelShape: kernel.shape, bias: Array.from(bias!.dataSync()) } : {}),
    };
  });
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length === 0 ? NaN : sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

await ensureBackend();
const hasTorch = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
const autoAttackPath = hasTorch ? peerPath('AUTOATTACK_PATH', 'fra31+auto-attack', 'autoattack') : null;
const foolboxPath = hasTorch ? peerPath('FOOLBOX_PATH', 'bethgelab+foolbox', 'foolbox') : null;
const work = mkdtempSync(join(tmpdir(), 'robustest-bench-'));
console.log(`\nAutoAttack and salt-and-pepper vs their references — ${count} MNIST test digits, seed ${SEED}, robustest on ${tf.getBackend()} (onnxruntime threads: ${process.env.ROBUSTEST_THREADS}), references on PyTorch CPU with 1 thread`);
if (!hasTorch) console.log(`  notice: ${python} cannot import torch (Debian: apt-get install python3-torch); reference columns skipped`);
else {
  if (!autoAttackPath) console.log('  notice: fra31/auto-attack not found (AUTOATTACK_PATH, or a snapshot in ROBUSTEST_MIRROR); its columns are skipped');
  if (!foolboxPath) console.log('  notice: bethgelab/foolbox not found (FOOLBOX_PATH, or a snapshot in ROBUSTEST_MIRROR); its columns are skipped');
}

/**
 * autoAttack() through evaluate on `target`, timed after an untimed run on four digits (as the
 * reference gets one: sessions built, code warm), with each member's seconds summed over the ε.
 */
async function timedAutoAttack(target: Parameters<typeof evaluate>[0], digits: ReturnType<typeof mnistSamples>, setting: { norm: 'linf' | 'l2'; epsilons: readonly number[] }) {
  const members = new Map<string, number>();
  const inner = autoAttack({ norm: setting.norm });
  const attack: Attack = {
    ...inner,
    run: async (...args: Parameters<Attack['run']>) => {
      const run = (await inner.run(...args)) as AutoAttackRun;
      for (const m of run.members) members.set(m.member, (members.get(m.member) ?? 0) + m.seconds);
      return run;
    },
  };
  const warm = mnistSamples(4);
  await evaluate(target, warm, { attack: autoAttack({ norm: setting.norm }), epsilons: [...setting.epsilons], seed: SEED });
  warm.inputs.dispose();
  const started = performance.now();
  const report = await evaluate(target, digits, { attack, epsilons: [...setting.epsilons], seed: SEED });
  return { report, seconds: (performance.now() - started) / 1000, members };
}

for (const name of models) {
  const { model, weights } = name === 'mlp-at' ? { model: await loadHardenedMlp(), weights: 'adversarially trained' } : await benchModel(name);
  const digits = mnistSamples(count);
  const clf = classifier(model);
  const logits = await clf.logits(digits.inputs);
  const layers = exportLayers(model);
  const base = { layers, shape: digits.inputs.shape, inputs: Array.from(await digits.inputs.data()), labels: digits.labels, logits: Array.from(await logits.data()) };
  logits.dispose();
  // Which executor runs robustest's side (tfjs, or onnxruntime when installed and able).
  console.log(`  ${name} (${weights}; robustest gradients: ${clf.gradientPath}):`);

  // A model left on the tfjs engine (by default, a tfjs model with max pooling) is timed on
  // onnxruntime as well, as ROBUSTEST_ENGINE=onnxruntime would run it.
  const network = clf.engine === 'onnxruntime' ? null : await onnxruntimeNetwork(clf.graph!()!, { threads: Number(process.env.ROBUSTEST_THREADS) });
  const executors: { label: string; target: Parameters<typeof evaluate>[0] }[] = [{ label: 'robustest', target: model }];
  if (network) executors.push({ label: 'on onnxruntime', target: onnxruntimeClassifier(clf, network) });

  for (const setting of name === 'mlp-at' ? HARDENED_SETTINGS : SETTINGS) {
    const runs = [];
    for (const executor of executors) runs.push({ ...executor, ...(await timedAutoAttack(executor.target, digits, setting)) });
    const label = `AutoAttack ${setting.norm === 'linf' ? 'L∞' : 'L2'} ε ${setting.epsilons.join(', ')}`;
    let line = `    ${label}: ${runs.map((r) => `${r.label} ${r.report.robustAccuracy.map((a) => a.toFixed(3)).join(' ')} in ${r.seconds.toFixed(1)} s${r.report.reliability.length > 0 ? ` [flags: ${r.report.reliability.map((f) => f.kind).join(', ')}]` : ''}`).join(' | ')}`;
    const members = runs.map((r) => `      seconds per member: ${r.label} ${MEMBERS.map((m) => `${m} ${(r.members.get(m) ?? 0).toFixed(1)}`).join(', ')}`);
    if (autoAttackPath) {
      const file = join(work, `${name}-${setting.norm}.json`);
      writeFileSync(file, JSON.stringify({ ...base, options: { norm: setting.norm, epsilons: setting.epsilons, seed: SEED } }));
      const peer = runPeer('auto_attack_peer.py', autoAttackPath, file);
      if (typeof peer === 'string') line += ` | reference failed: ${peer}`;
      else {
        const theirs = peer.reduce((t, r) => t + (r.seconds as number), 0);
        const gap = Math.max(...runs.flatMap(({ report }) => peer.map((r, k) => Math.abs((report.robustAccuracy[k]! - (r.robustAccuracy as number)) * 100))));
        const ratios = runs.map((r, i) => (i === 0 ? ratio(r.seconds / theirs) : `${r.label.replace(/^on /, '')} ${ratio(r.seconds / theirs)}`));
        line +=
          ` | reference ${peer.map((r) => (r.robustAccuracy as number).toFixed(3)).join(' ')} in ${theirs.toFixed(1)} s` +
          ` | time ${ratios[0]}${ratios.length > 1 ? ` (${ratios.slice(1).join(', ')})` : ''} of the reference's, largest gap ${gap.toFixed(1)} points (logits agree to ${(peer[0]!.parity as number).toExponential(1)})`;
        const theirMembers = (m: string) => peer.reduce((t, r) => t + ((r.members as Record<string, number> | undefined)?.[m] ?? 0), 0);
        members.push(`      seconds per member: reference ${MEMBERS.map((m) => `${m} ${theirMembers(m).toFixed(1)}`).join(', ')}`);
      }
    }
    console.log(line);
    for (const m of members) console.log(m);
  }
  network?.dispose();

  if (!skip.includes('salt-and-pepper')) {
    const started = performance.now();
    const run = await saltAndPepper().run(clf, digits, { seed: SEED });
    const mine = (performance.now() - started) / 1000;
    run.adversarials.dispose();
    const broken = run.distances.filter((d, i) => run.success[i] && d > 0);
    let line = `    salt-and-pepper median L0: robustest ${median(broken)} (${broken.length} broken, ${mine.toFixed(1)} s)`;
    if (foolboxPath) {
      const file = join(work, `${name}-salt-and-pepper.json`);
      writeFileSync(file, JSON.stringify({ ...base, options: { seed: SEED, steps: 1000 } }));
      const peer = runPeer('salt_pepper_peer.py', foolboxPath, file);
      if (typeof peer === 'string') line += ` | Foolbox failed: ${peer}`;
      else {
        const clean = new Set(run.distances.flatMap((d, i) => (d === 0 ? [i] : [])));
        const theirs = (peer[0]!.pixels as (number | null)[]).flatMap((p, i) => (p !== null && !clean.has(i) ? [p] : []));
        line += ` | Foolbox 3 ${median(theirs)} (${theirs.length} broken, ${(peer[0]!.seconds as number).toFixed(1)} s) | ratio ${ratio(median(broken) / median(theirs))}`;
      }
    }
    console.log(line);
  }
  digits.inputs.dispose();
  model.dispose();
}
