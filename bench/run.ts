/**
 * `npm run bench`: runs bench/backend.ts once per backend, each in its own process (robustest
 * picks its backend once per process, from ROBUSTEST_BACKEND).
 *
 *   npm run bench                                  wasm and cpu, both models
 *   npm run bench -- --backends wasm --models mlp  a subset
 *   npm run bench -- --skip baseline,autodiff      without the tf.grad comparisons
 *   npm run bench -- --skip auto-attack            without AutoAttack and salt-and-pepper vs their references
 *   npm run bench -- --skip certify                without the certificates vs auto_LiRPA (bench/certify.ts)
 *   npm run bench -- --skip defend                 without adversarial training and detection (bench/defend.ts)
 *   npm run bench -- --skip memory                 without peak memory on 20,000 digits and MobileNetV2 (bench/memory.ts)
 *   npm run bench -- --skip real-models            without PGD and DeepFool on MobileNetV2, InceptionV3 and ResNet-18 in every format (bench/real-models.ts)
 *   npm run bench -- --skip onnxruntime            without the onnxruntime executor vs PyTorch and Foolbox (bench/onnxruntime.ts)
 *   npm run bench -- --skip graphmodel             without MobileNetV2Mid's imported graph vs model.execute and tf.grad (bench/graphmodel.ts)
 *   npm run bench -- --full                        also what takes tens of minutes: on cpu the
 *                                                  plain CNN curve and C&W/DeepFool; everywhere
 *                                                  C&W re-run with tf.grad gradients
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { availableParallelism, cpus } from 'node:os';

function flag(name: string, fallback: string): string[] {
  const i = process.argv.indexOf(`--${name}`);
  return (i >= 0 ? process.argv[i + 1]! : fallback).split(',').filter(Boolean);
}

const backends = flag('backends', 'wasm,cpu');
const models = flag('models', 'mlp,cnn');
const skip = flag('skip', '');
const full = process.argv.includes('--full');

process.stdout.write(`robustest bench — ${cpus()[0]?.model ?? 'cpu'}, ${availableParallelism()} cores; backends ${backends.join(', ')}\n`);
let failed = false;

/** Runs one bench script in a process of its own; a failure is reported and fails the whole run. */
function runScript(label: string, file: string, args: string[] = [], env: Record<string, string> = {}): void {
  const path = fileURLToPath(new URL(file, import.meta.url));
  const result = spawnSync(process.execPath, ['--import', 'tsx', path, ...args], { stdio: 'inherit', env: { ...process.env, ...env } });
  if (result.status !== 0) {
    process.stdout.write(`${label}: the bench process exited with ${result.status ?? result.signal}\n`);
    failed = true;
  }
}

for (const backend of backends) {
  runScript(`backend ${backend}`, './backend.ts', [], { ROBUSTEST_BACKEND: backend, BENCH_OPTIONS: JSON.stringify({ models, skip, full }) });
}
// AutoAttack and salt-and-pepper against their Python references, in one process on the default backend.
if (!skip.includes('auto-attack')) runScript('auto-attack', './auto-attack.ts', ['--models', models.join(',')]);
// Certificates against auto_LiRPA: float64 host code, the same on every backend, so run once.
if (!skip.includes('certify')) runScript('certify', './certify.ts', [], { BENCH_OPTIONS: JSON.stringify({ models }) });
// Defences: mlp vs mlp-at under AutoAttack, and feature squeezing with and without the adaptive attack.
if (!skip.includes('defend')) runScript('defend', './defend.ts');
// Peak memory, one process per measurement.
if (!skip.includes('memory')) runScript('memory', './memory.ts');
// White-box attacks on real networks as LayersModels, a GraphModel and ONNX exports, re-checked by their own runtimes.
if (!skip.includes('real-models')) runScript('real-models', './real-models.ts');
// The onnxruntime executor: MobileNetV2 gradients vs PyTorch, the MNIST curve vs Foolbox, Square on both executors.
if (!skip.includes('onnxruntime')) runScript('onnxruntime', './onnxruntime.ts');
// A converted GraphModel through the model graph: logits vs model.execute, input gradient vs tf.grad on cpu.
if (!skip.includes('graphmodel')) runScript('graphmodel', './graphmodel.ts');
process.exitCode = failed ? 1 : 0;
