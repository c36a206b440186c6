/**
 * The hand-written wasm kernels: each embedded binary is its .wat compiled, and the engine's
 * kernels bind to the wasm backend's heap here (so the fused routes the engine tests check are
 * really taken).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { KERNEL_MODULES, binarySource, compileKernels } from '../scripts/kernels.js';
import { wasmKernels } from '../src/engine/tfjs/wasm/instance.js';

describe('wasm kernels', () => {
  for (const module of KERNEL_MODULES) {
    it(`${basename(module.binary)} is ${basename(module.wat)} compiled (run \`npm run build:kernels\` after editing it)`, async () => {
      const bytes = await compileKernels(module);
      expect(readFileSync(module.binary, 'utf8')).toBe(binarySource(bytes, module));
    });
  }

  it('bind to the wasm backend heap, and to nothing else', async () => {
    await tf.setBackend('wasm');
    const kernels = wasmKernels(tf.backend());
    expect(typeof kernels?.maxPoolConvBackprop).toBe('function');
    expect(wasmKernels(tf.backend())).toBe(kernels);
    await tf.setBackend('cpu');
    expect(wasmKernels(tf.backend())).toBeNull();
    expect(wasmKernels({ wasm: { asm: { memory: {} } } })).toBeNull();
  });
});
