/**
 * Which executor runs: onnxruntime when it can, tfjs with a notice when onnxruntime-node is
 * missing (its lazy import made to fail), ROBUSTEST_ENGINE overriding the choice, and the thread
 * count from the option, ROBUSTEST_THREADS or the core count.
 */
import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { GraphBuilder } from '../../src/graph/builder.js';
import type { ModelGraph } from '../../src/graph/types.js';
import { ensureBackend } from '../../src/backend.js';

function tinyGraph(format: ModelGraph['format'] = 'onnx'): ModelGraph {
  const b = new GraphBuilder(format, [3]);
  const kernel = b.weight(Float32Array.from([1, -1, 0.5, 2, 0, 1]), [3, 2]);
  return b.build(b.add({ kind: 'dense', kernel, bias: null }, [b.input], 'dense'));
}

beforeAll(async () => {
  await ensureBackend();
});

afterEach(() => {
  vi.unstubAllEnvs();
  vi.doUnmock('onnxruntime-node');
  vi.resetModules();
  vi.restoreAllMocks();
});

describe('selectNetwork', () => {
  it('runs on onnxruntime by default when it is installed', async () => {
    vi.stubEnv('ROBUSTEST_ENGINE', '');
    const { selectNetwork } = await import('../../src/engine/select.js');
    const graph = tinyGraph();
    const selected = await selectNetwork(graph, { threads: 1 });
    expect(selected.engine).toBe('onnxruntime');
    expect(selected.network.gradientPath).toMatch(/^onnxruntime 1\.\d+.* \(1 thread\)/);
    const x = tf.tensor2d([[1, 2, 3]]);
    const z = await selected.network.forward(x);
    expect(Array.from(z.dataSync())).toEqual([2, 6]);
    tf.dispose([x, z]);
    selected.network.dispose();
    graph.dispose();
  });

  it('a tfjs model runs on onnxruntime too, except one with max pooling, which stays on the tfjs engine unless asked', async () => {
    vi.stubEnv('ROBUSTEST_ENGINE', '');
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const { selectNetwork } = await import('../../src/engine/select.js');
    const dense = tinyGraph('tfjs-layers');
    const chosen = await selectNetwork(dense, { threads: 1 });
    expect(chosen.engine).toBe('onnxruntime');
    chosen.network.dispose();
    dense.dispose();
    const b = new GraphBuilder('tfjs-layers', [4, 4, 1]);
    const pool = b.add({ kind: 'maxPool', size: [2, 2], strides: [2, 2], padding: 'valid' }, [b.input], 'pool');
    const pooled = b.build(b.add({ kind: 'reshape', shape: [4] }, [pool], 'flatten'));
    expect(await selectNetwork(pooled)).toMatchObject({ engine: 'tfjs', reason: null });
    expect(write).not.toHaveBeenCalled();
    vi.stubEnv('ROBUSTEST_ENGINE', 'onnxruntime');
    const asked = await selectNetwork(pooled, { threads: 1 });
    expect(asked.engine).toBe('onnxruntime');
    asked.network.dispose();
    pooled.dispose();
  });

  it('ROBUSTEST_ENGINE=tfjs runs the tfjs engine, silently', async () => {
    vi.stubEnv('ROBUSTEST_ENGINE', 'tfjs');
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const { selectNetwork } = await import('../../src/engine/select.js');
    const graph = tinyGraph();
    const selected = await selectNetwork(graph);
    expect(selected).toMatchObject({ engine: 'tfjs', reason: null });
    expect(write).not.toHaveBeenCalled();
    graph.dispose();
  });

  it('without onnxruntime-node: the tfjs engine, with a notice saying why', async () => {
    vi.doMock('onnxruntime-node', () => {
      throw new Error("Cannot find package 'onnxruntime-node'");
    });
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const { selectNetwork } = await import('../../src/engine/select.js');
    const { onnxruntimeNetwork } = await import('../../src/engine/onnxruntime/index.js');
    const graph = tinyGraph();
    expect(await onnxruntimeNetwork(graph)).toBeNull();
    const selected = await selectNetwork(graph);
    expect(selected.engine).toBe('tfjs');
    expect(selected.engine === 'tfjs' && selected.reason).toMatch(/onnxruntime-node is not installed/);
    expect(write).toHaveBeenCalledWith(expect.stringMatching(/robustest: running on the tfjs engine: onnxruntime-node is not installed/));
    const x = tf.tensor2d([[1, 2, 3]]);
    const z = selected.network.forward(x) as tf.Tensor;
    expect(Array.from(z.dataSync())).toEqual([2, 6]);
    tf.dispose([x, z]);
    graph.dispose();
  });

  it('ROBUSTEST_ENGINE=onnxruntime without onnxruntime-node is an error naming the fix', async () => {
    vi.stubEnv('ROBUSTEST_ENGINE', 'onnxruntime');
    vi.doMock('onnxruntime-node', () => {
      throw new Error("Cannot find package 'onnxruntime-node'");
    });
    const { selectNetwork } = await import('../../src/engine/select.js');
    const graph = tinyGraph();
    await expect(selectNetwork(graph)).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE', message: expect.stringMatching(/npm install -D onnxruntime-node/) });
    graph.dispose();
  });

  it('a graph onnxruntime cannot run falls back to tfjs with the node named', async () => {
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const { selectNetwork } = await import('../../src/engine/select.js');
    const b = new GraphBuilder('onnx', [2]);
    const graph = b.build(b.add({ kind: 'opaque', name: 'Custom', apply: (ins) => tf.mul(ins[0]!, 2) }, [b.input], 'custom_1', [2]));
    const selected = await selectNetwork(graph);
    expect(selected.engine).toBe('tfjs');
    expect(write).toHaveBeenCalledWith(expect.stringMatching(/custom_1/));
  });

  it('an unknown ROBUSTEST_ENGINE is a typed error', async () => {
    vi.stubEnv('ROBUSTEST_ENGINE', 'torch');
    const { selectNetwork } = await import('../../src/engine/select.js');
    await expect(selectNetwork(tinyGraph())).rejects.toMatchObject({ code: 'INVALID_OPTION', received: '"torch"' });
  });
});

describe('threads', () => {
  it('one per core by default, ROBUSTEST_THREADS overrides, the option overrides both', async () => {
    const { threadCount } = await import('../../src/engine/onnxruntime/runtime.js');
    vi.stubEnv('ROBUSTEST_THREADS', '');
    expect(threadCount()).toBe(availableParallelism());
    vi.stubEnv('ROBUSTEST_THREADS', '3');
    expect(threadCount()).toBe(3);
    expect(threadCount(1)).toBe(1);
    vi.stubEnv('ROBUSTEST_THREADS', 'many');
    expect(() => threadCount()).toThrow(/ROBUSTEST_THREADS=many/);
  });
});
