/**
 * The one place that picks the tfjs backend: tfjs-node's `tensorflow` backend when the user has
 * it installed, else wasm (SIMD, shipped inside the npm package), else cpu. The choice happens
 * inside robustest's first async call, never at import time, so a user's synchronous tfjs code
 * right after `import 'robustest'` keeps running on whatever backend it already had.
 */
import * as tf from '@tensorflow/tfjs-core';
import { RobustestError } from './errors.js';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
const KNOWN: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];

let choice: Promise<BackendName> | undefined;

let crashed = false;

/** Ensures a backend is chosen and ready; returns its name. Idempotent. */
export function ensureBackend(): Promise<BackendName> {
  choice ??= choose().catch((error) => {
    choice = undefined;
    throw error;
  });
  return choice.then(async (name) => {
    if (crashed) await replaceCrashedWasm();
    if (name === 'wasm') hardenWasm();
    // A user may have switched backends since; robustest always runs on its own choice.
    if (tf.getBackend() !== name) await tf.setBackend(name);
    return name;
  });
}

/**
 * Records that the wasm backend trapped (out of memory, typically): its instance is unusable from
 * then on, for robustest and for the user's own tfjs code. The next ensureBackend replaces it.
 */
export function backendCrashed(): void {
  crashed = true;
}

/**
 * Two fixes to the wasm backend instance, applied once:
 * - Its heap's malloc returns 0 when the heap cannot grow, and tfjs then writes the tensor at
 *   address 0, over every other tensor, before the instance traps. Failing the allocation in
 *   JavaScript instead leaves the heap intact: the kernel throws, its scope unwinds, and the
 *   backend stays usable.
 * - `typedArrayFromHeap` takes the heap's buffer before looking the tensor up, and the look-up is
 *   what moves a tensor created on another backend into the heap; when that move grows the heap,
 *   the buffer it took is detached ("Cannot perform Construct on a detached ArrayBuffer", seen
 *   with thousands of tensors made before robustest's first call). Looking the tensor up first
 *   makes the move happen before the buffer is taken.
 */
function hardenWasm(): void {
  type Module = { _malloc(bytes: number): number; asm?: { malloc?(bytes: number): number } };
  type Backend = { wasm?: Module; dataIdMap: { get(id: object): unknown }; typedArrayFromHeap(info: { dataId: object }): unknown };
  const backend = tf.findBackend('wasm') as unknown as Backend | null;
  const module = backend?.wasm;
  if (!backend || !module || guarded.has(module)) return;
  // Emscripten's exported _malloc replaces itself with the raw export on its first call: wrap the export.
  const malloc = module.asm?.malloc ?? module._malloc.bind(module);
  module._malloc = (bytes: number) => {
    // Sizes of 4 GiB and more would wrap around to small ones in the 32-bit call.
    const address = bytes <= WASM_HEAP_MAX ? malloc(bytes) : 0;
    if (address === 0 && bytes > 0) {
      throw new RangeError(`wasm backend out of memory: could not allocate ${bytes} bytes (the heap is at most 4 GiB)`);
    }
    return address;
  };
  const fromHeap = backend.typedArrayFromHeap.bind(backend);
  backend.typedArrayFromHeap = (info) => {
    backend.dataIdMap.get(info.dataId);
    return fromHeap(info);
  };
  guarded.add(module);
}
const guarded = new WeakSet<object>();
const WASM_HEAP_MAX = 4294901760;

interface EngineInternals {
  registry: Record<string, tf.KernelBackend | undefined>;
  backendName: string | null;
  backendInstance: tf.KernelBackend | null;
  pendingBackendInit: Promise<boolean> | null;
}

/**
 * A fresh wasm instance in place of one that trapped. The trapped instance's memory is still
 * readable from JavaScript, and tfjs moves a tensor's data to the current backend the first time
 * a kernel reads it: so every live tensor (the user's model weights included) carries over,
 * while the old instance is never called into again (freeing its data is a no-op).
 */
async function replaceCrashedWasm(): Promise<void> {
  crashed = false;
  const engine = tf.engine() as unknown as EngineInternals;
  const old = engine.registry.wasm;
  if (!old) return;
  const frozen = old as unknown as { disposeData(): boolean; dispose(): void };
  frozen.disposeData = () => true;
  frozen.dispose = () => {};
  delete engine.registry.wasm;
  if (engine.backendName === 'wasm') {
    engine.backendName = null;
    engine.backendInstance = null;
    engine.pendingBackendInit = null;
  }
  await tf.setBackend('wasm');
}

/** The backend robustest runs on, or undefined before the first async call. */
export function currentBackend(): string {
  return tf.getBackend();
}

async function choose(): Promise<BackendName> {
  const requested = process.env.ROBUSTEST_BACKEND?.trim();
  if (requested) {
    if (!KNOWN.includes(requested as BackendName)) {
      throw new RobustestError('BACKEND_UNAVAILABLE', 'ROBUSTEST_BACKEND names an unknown backend.', {
        expected: KNOWN.join(' | '),
        received: JSON.stringify(requested),
      });
    }
    const name = requested as BackendName;
    if (!(await activate(name))) {
      throw new RobustestError('BACKEND_UNAVAILABLE', `ROBUSTEST_BACKEND=${name} could not be initialised.`, {
        expected: `the ${name} backend to load (${packageOf(name)} installed)`,
        received: 'an import or initialisation failure',
      });
    }
    return name;
  }
  if (await activate('tensorflow')) return 'tensorflow';
  if (await activate('wasm')) return 'wasm';
  if (await activate('cpu')) {
    process.stderr.write('robustest: running on the tfjs cpu backend, which is slow; install @tensorflow/tfjs-node or allow @tensorflow/tfjs-backend-wasm.\n');
    return 'cpu';
  }
  throw new RobustestError('BACKEND_UNAVAILABLE', 'No tfjs backend could be initialised.', {
    expected: 'one of @tensorflow/tfjs-node, @tensorflow/tfjs-backend-wasm, @tensorflow/tfjs-backend-cpu',
    received: 'none loadable',
  });
}

function packageOf(name: BackendName): string {
  return name === 'tensorflow' ? '@tensorflow/tfjs-node' : `@tensorflow/tfjs-backend-${name}`;
}

async function activate(name: BackendName): Promise<boolean> {
  try {
    if (tf.findBackendFactory(name) === null && tf.findBackend(name) === null) {
      await import(/* @vite-ignore */ packageOf(name));
    }
    if (tf.findBackendFactory(name) === null && tf.findBackend(name) === null) return false;
    return await tf.setBackend(name);
  } catch {
    return false;
  }
}
