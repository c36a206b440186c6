/**
 * The hand-written wasm kernels: the embedded binary is the compiled kernels.wat, and it binds to
 * the wasm backend's heap here (so the fused routes the engine tests check are really taken).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { BINARY_PATH, binarySource, compileKernels } from '../scripts/kernels.js';
import { KERNELS_WASM_BASE64 } from '../src/engine/tfjs/wasm/kernels-binary.js';
import { wasmKernels } from '../src/engine/tfjs/wasm/instance.js';

describe('wasm kernels', () => {
  it('kernels-binary.ts is kernels.wat compiled (run `npm run build:kernels` after editing it)', async () => {
    const bytes = await compileKernels();
    expect(Buffer.from(KERNELS_WASM_BASE64, 'base64').equals(Buffer.from(bytes))).toBe(true);
    expect(readFileSync(BINARY_PATH, 'utf8')).toBe(binarySource(bytes));
  });

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
