/**
 * Real torchvision exports (MobileNetV2 and ResNet-18, seeded random weights, opset 13 and 17),
 * written at test time by Debian's python3-torchvision into a temporary directory: imported,
 * run by the tfjs executor on wasm, and compared with onnxruntime on the same 224×224 images.
 * Gradients are checked on the fixtures (onnx-fixtures.test.ts): calibrated 224×224 networks
 * bend within 1e-4 of a pixel value, so finite differences cannot resolve their derivatives.
 * Skipped, with a notice, where python3-torchvision is not installed.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileGraph } from '../../src/engine/tfjs/compile.js';
import { importOnnx } from '../../src/graph/onnx/index.js';
import type { OpKind } from '../../src/graph/types.js';
import { sensitivity, OnnxOracle, samples } from '../fixtures/onnx/graph/oracle.js';
import { relativeError } from '../support/graph-reference.js';

const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('../fixtures/onnx/graph/export_torchvision.py', import.meta.url));
const available = spawnSync(PYTHON, ['-c', 'import torch, torchvision'], { stdio: 'ignore' }).status === 0;
if (!available) console.warn('onnx-torchvision.test.ts: skipped, python3-torchvision is not installed (apt-get install python3-torchvision).');

const SHAPE = [224, 224, 3];
const N = 2;

describe.skipIf(!available)('importOnnx: torchvision exports against onnxruntime', () => {
  let dir = '';
  beforeAll(async () => {
    await tf.setBackend('wasm');
    dir = mkdtempSync(join(tmpdir(), 'robustest-torchvision-'));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const cases: { name: string; opset: number; kinds: OpKind[] }[] = [
    { name: 'mobilenet_v2', opset: 13, kinds: ['conv2d', 'depthwiseConv2d', 'activation', 'binary', 'mean', 'dense'] },
    { name: 'resnet18', opset: 17, kinds: ['conv2d', 'activation', 'maxPool', 'binary', 'mean', 'dense'] },
  ];
  for (const c of cases) {
    it(`${c.name} (opset ${c.opset}): logits equal onnxruntime's within 1e-5 relative`, async () => {
      const path = join(dir, `${c.name}.onnx`);
      const exported = spawnSync(PYTHON, [SCRIPT, c.name, path, String(c.opset)], { encoding: 'utf8' });
      expect(exported.status, exported.stderr).toBe(0);
      const bytes = new Uint8Array(readFileSync(path));

      const before = tf.memory().numTensors;
      const graph = importOnnx(bytes, { layout: 'nchw' });
      expect(tf.memory().numTensors).toBe(before);
      expect(graph.shapes[graph.input]).toEqual(SHAPE);
      expect(graph.shapes[graph.output]).toEqual([1000]);
      expect([...new Set(graph.nodes.map((n) => n.op.kind))].sort()).toEqual([...c.kinds, 'reshape'].sort());

      const x = samples(16, N, SHAPE);
      const oracle = await OnnxOracle.load(bytes, 'nchw', SHAPE);
      const expected = await oracle.outputs(x, N);
      expect(sensitivity(expected, N)).toBeGreaterThan(1e-3);
      const network = compileGraph(graph);
      const input = tf.tensor(x, [N, ...SHAPE]);
      const logits = network.forward(input);
      const error = relativeError((await logits.data()) as Float32Array, expected);

      console.log(`${c.name}: ${graph.nodes.length} graph nodes, logits error ${error.toExponential(2)} relative to onnxruntime`);
      tf.dispose([input, logits]);
      network.dispose();
      expect(tf.memory().numTensors).toBe(before);
      expect(error).toBeLessThan(1e-5);
    }, 600_000);
  }
});
