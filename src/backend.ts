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

/** Ensures a backend is chosen and ready; returns its name. Idempotent. */
export function ensureBackend(): Promise<BackendName> {
  choice ??= choose().catch((error) => {
    choice = undefined;
    throw error;
  });
  return choice.then(async (name) => {
    // A user may have switched backends since; robustest always runs on its own choice.
    if (tf.getBackend() !== name) await tf.setBackend(name);
    return name;
  });
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
