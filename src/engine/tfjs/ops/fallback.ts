/**
 * A node the engine has no rule for (an opaque graph node: a tfjs-layers layer without a rule):
 * forward is its own tfjs call, and its vector-Jacobian product comes from tf.grad over that call
 * alone. Where the backend lacks a gradient kernel the
 * layer needs (wasm has no Conv2DBackpropFilter, which tfjs's fused-conv gradient computes even
 * when only the input gradient is asked for), that one product is computed on the cpu backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import { RobustestError } from '../../../errors.js';
import { notice } from '../notices.js';
import { discardFailedTape } from '../tape.js';
import type { Cotangent, InputGradient, Op } from './op.js';

export class FallbackOp implements Op {
  readonly autodiff: string;
  /** Set once tf.grad has failed on the backend in use and succeeded on cpu. */
  onCpu = false;

  constructor(private readonly opaque: { readonly name: string; apply(inputs: readonly tf.Tensor[]): tf.Tensor }) {
    this.autodiff = opaque.name;
  }

  private call(inputs: readonly tf.Tensor[]): tf.Tensor {
    return this.opaque.apply(inputs);
  }

  forward(inputs: readonly tf.Tensor[]): tf.Tensor {
    return this.call(inputs);
  }

  backward(cot: Cotangent, inputs: readonly tf.Tensor[]): (InputGradient | null)[] {
    const vjp = (xs: readonly tf.Tensor[], dy: tf.Tensor) => tf.grads((...args: tf.Tensor[]) => this.call(args))([...xs], dy);
    if (!this.onCpu && tf.getBackend() !== 'cpu') {
      try {
        return vjp(inputs, cot.dy).map((gradient) => ({ gradient }));
      } catch (error) {
        discardFailedTape();
        notice(
          `cpu:${this.autodiff}`,
          `tf.grad through layer class ${this.autodiff} fails on the ${tf.getBackend()} backend (${(error as Error).message.split('\n')[0]}); its input gradient is computed on the cpu backend instead.`,
        );
      }
    }
    const gradients = onCpuBackend(inputs, cot.dy, vjp);
    if (tf.getBackend() !== 'cpu') this.onCpu = true;
    return gradients.map((gradient) => ({ gradient }));
  }
}

/**
 * Runs `vjp` on copies of the tensors on the cpu backend and returns its results on the current
 * backend. Switching to an initialised backend is synchronous in tfjs (setBackend only awaits
 * an asynchronous first initialisation), so this works inside synchronous code.
 */
function onCpuBackend(inputs: readonly tf.Tensor[], dy: tf.Tensor, vjp: (xs: readonly tf.Tensor[], dy: tf.Tensor) => tf.Tensor[]): tf.Tensor[] {
  const home = tf.getBackend();
  if (home === 'cpu') return vjp(inputs, dy);
  const copy = (t: tf.Tensor) => ({ values: t.dataSync().slice(), shape: t.shape, dtype: t.dtype });
  const sources = inputs.map(copy);
  const seed = copy(dy);
  if (tf.findBackendFactory('cpu') === null && tf.findBackend('cpu') === null) {
    throw new RobustestError('BACKEND_UNAVAILABLE', `Computing the input gradient of a layer needs the cpu backend, which is not registered.`, {
      expected: "the cpu backend registered (import '@tensorflow/tfjs-backend-cpu' or '@tensorflow/tfjs')",
      received: `only ${home}`,
    });
  }
  switchBackend('cpu');
  let results: { values: tf.TypedArray; shape: number[] }[];
  try {
    results = tf.tidy(() => {
      const xs = sources.map((s) => tf.tensor(s.values, s.shape, s.dtype));
      const d = tf.tensor(seed.values, seed.shape, seed.dtype);
      return vjp(xs, d).map((g) => ({ values: g.dataSync() as tf.TypedArray, shape: g.shape }));
    });
  } finally {
    switchBackend(home);
  }
  return results.map((r) => tf.tensor(r.values, r.shape, 'float32'));
}

function switchBackend(name: string): void {
  tf.setBackend(name).catch(() => undefined);
  if (tf.getBackend() !== name) {
    throw new RobustestError('BACKEND_UNAVAILABLE', `Could not switch to the ${name} backend synchronously to compute a layer's input gradient.`, {
      expected: `the ${name} backend initialised`,
      received: `the ${tf.getBackend()} backend still active`,
    });
  }
}
