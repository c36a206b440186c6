/**
 * White-box attacks on real networks in every format the model graph imports: MobileNetV2 and
 * InceptionV3 (nsfwjs LayersModels), MobileNetV2Mid (nsfwjs's converted GraphModel), and
 * torchvision's MobileNetV2 and ResNet-18 exported to ONNX at bench time by Debian's
 * python3-torchvision (seeded random weights; skipped with a notice when it is absent). For each:
 * PGD-10 (L∞, ε = 2/255) and DeepFool (L2) on the default backend with gradients, and every
 * adversarial re-checked by the model's own runtime (model.predict, model.execute, or the
 * onnxruntime session): a success is only counted if that runtime agrees.
 *
 *   tsx bench/real-models.ts [--images 4] [--only mobilenet_v2,resnet18]
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { classifier, deepfool, onnxClassifier, pgd, type Classifier } from '../src/index.js';
import { loadNsfwjs, type NsfwjsModel } from '../test/fixtures/nsfwjs.js';
import { s } from './timing.js';

const argAt = (name: string) => process.argv.indexOf(`--${name}`);
const images = argAt('images') >= 0 ? Number(process.argv[argAt('images') + 1]) : 4;
const only = argAt('only') >= 0 ? process.argv[argAt('only') + 1]!.split(',') : null;
const EPSILON = 2 / 255;

interface Subject {
  name: string;
  clf: Classifier;
  size: number;
  /** The runtime's own class predictions, the referee. */
  predict(x: tf.Tensor): Promise<number[]>;
  dispose(): Promise<void>;
}

function argmaxRows(scores: tf.Tensor): number[] {
  return tf.tidy(() => tf.argMax(scores, 1).arraySync() as number[]);
}

async function nsfwjsSubject(name: NsfwjsModel, label: string): Promise<Subject> {
  const model = await loadNsfwjs(name);
  const size = name === 'inception_v3' ? 299 : 224;
  const run = (x: tf.Tensor) => ('execute' in model && !('layers' in model) ? (model as tf.GraphModel).execute(x) : (model as tf.LayersModel).predict(x)) as tf.Tensor;
  return {
    name: label,
    clf: classifier(model, { name: label }),
    size,
    predict: async (x) => {
      const scores = run(x);
      const top = argmaxRows(scores);
      scores.dispose();
      return top;
    },
    dispose: async () => void model.dispose(),
  };
}

const PYTHON = '/usr/bin/python3';
const EXPORT = fileURLToPath(new URL('../test/fixtures/onnx/graph/export_torchvision.py', import.meta.url));

async function torchvisionSubject(name: 'mobilenet_v2' | 'resnet18', dir: string): Promise<Subject | null> {
  const path = join(dir, `${name}.onnx`);
  const exported = spawnSync(PYTHON, [EXPORT, name, path, '13'], { encoding: 'utf8' });
  if (exported.status !== 0) {
    console.log(`torchvision ${name}: skipped, the export failed (${(exported.stderr || exported.error?.message || '').trim().split('\n').pop()})`);
    return null;
  }
  const ort = await import('onnxruntime-node');
  const bytes = new Uint8Array(readFileSync(path));
  const session = await ort.InferenceSession.create(bytes);
  const label = `torchvision ${name} (ONNX)`;
  const referee = onnxClassifier(session, { layout: 'nchw', name: label });
  return {
    name: label,
    clf: onnxClassifier(session, { layout: 'nchw', model: bytes, name: label }),
    size: 224,
    predict: async (x) => {
      const z = await referee.logits(x);
      const top = argmaxRows(z);
      z.dispose();
      return top;
    },
    dispose: () => session.release(),
  };
}

/** Smooth random images: upsampled noise, so the networks see structure rather than static. */
function smoothImages(n: number, size: number): tf.Tensor4D {
  return tf.tidy(() => tf.image.resizeBilinear(tf.randomUniform([n, 14, 14, 3], 0, 1, 'float32', 11) as tf.Tensor4D, [size, size]));
}

async function attackAndRecheck(subject: Subject): Promise<void> {
  const inputs = smoothImages(images, subject.size);
  const labels = await subject.predict(inputs);
  const samples = { inputs, labels };
  console.log(`${subject.name}: ${images} images ${subject.size}×${subject.size}×3, gradients by ${subject.clf.gradientPath}`);
  const attacks = [
    { label: `PGD-10 L∞ ε = 2/255`, attack: pgd({ steps: 10 }), epsilon: EPSILON as number | undefined },
    { label: 'DeepFool L2', attack: deepfool({ steps: 50 }), epsilon: undefined },
  ];
  for (const { label, attack, epsilon } of attacks) {
    const start = performance.now();
    const run = await attack.run(subject.clf, samples, { seed: 1, ...(epsilon === undefined ? {} : { epsilon }) });
    const elapsed = (performance.now() - start) / 1000;
    const refereed = await subject.predict(run.adversarials);
    const broken = run.success.filter(Boolean).length;
    const confirmed = run.success.filter((ok, i) => ok && refereed[i] !== labels[i]).length;
    const unconfirmed = broken - confirmed;
    const distances = run.distances.filter((d) => Number.isFinite(d)).sort((a, b) => a - b);
    const median = distances.length ? distances[Math.floor(distances.length / 2)]!.toFixed(3) : '—';
    console.log(
      `  ${label}: broke ${broken}/${images} (median distance ${median}), ${confirmed} of ${broken} confirmed by the model's own runtime${unconfirmed ? ` — ${unconfirmed} NOT CONFIRMED` : ''}, ${s(elapsed)}`,
    );
    if (unconfirmed) process.exitCode = 1;
    run.adversarials.dispose();
  }
  inputs.dispose();
}

async function main(): Promise<void> {
  await tf.setBackend('wasm');
  const dir = mkdtempSync(join(tmpdir(), 'robustest-real-models-'));
  const makers: [string, () => Promise<Subject | null>][] = [
    ['mobilenet_v2', () => nsfwjsSubject('mobilenet_v2', 'MobileNetV2 (nsfwjs LayersModel)')],
    ['mobilenet_v2_mid', () => nsfwjsSubject('mobilenet_v2_mid', 'MobileNetV2Mid (nsfwjs GraphModel)')],
    ['inception_v3', () => nsfwjsSubject('inception_v3', 'InceptionV3 (nsfwjs LayersModel)')],
    ['torchvision_mobilenet_v2', () => torchvisionSubject('mobilenet_v2', dir)],
    ['resnet18', () => torchvisionSubject('resnet18', dir)],
  ];
  try {
    for (const [key, make] of makers) {
      if (only && !only.includes(key)) continue;
      const subject = await make();
      if (!subject) continue;
      await attackAndRecheck(subject);
      await subject.dispose();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
