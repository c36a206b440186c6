/**
 * Tensor hygiene for async code. tf.tidy cannot span an await, and an engine scope held open
 * across one would also collect tensors made by the caller and by other calls running at the
 * same time. So each public call owns exactly the tensors created in its own async context
 * (AsyncLocalStorage follows its awaits, timers and callbacks, and nothing else): they are
 * disposed when the call settles, success or failure, except those it hands to its caller
 * through `keep`. Calls may nest (evaluate runs attacks); a nested call's kept tensors pass to
 * the enclosing call. A call also carries the AbortSignal that cancels it and everything it runs.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import * as tf from '@tensorflow/tfjs-core';
import { ensureBackend, type BackendName } from '../backend.js';
import { RobustestError } from '../errors.js';

export interface Scope {
  /** The backend this call runs on. */
  readonly backend: BackendName;
  /** Marks a tensor to outlive the call (the caller becomes its owner). */
  keep<T extends tf.Tensor>(tensor: T): T;
}

interface Call {
  readonly parent: Call | undefined;
  /** Null for a context that only carries a signal (withSignal): it owns nothing. */
  readonly owned: Set<tf.Tensor> | null;
  readonly signal: AbortSignal | undefined;
  readonly onEnd: (() => void)[];
}

const calls = new AsyncLocalStorage<Call>();
const ownerOf = new WeakMap<tf.Tensor, Call>();
const hooked = new WeakSet<object>();

interface TrackingEngine {
  trackTensor(tensor: tf.Tensor, backend: unknown): void;
  disposeTensor(tensor: tf.Tensor): void;
}

/** Records every tensor the engine registers with the call running at that moment, if any. */
function hookEngine(): void {
  const engine = tf.engine() as unknown as TrackingEngine;
  if (hooked.has(engine)) return;
  hooked.add(engine);
  const track = engine.trackTensor;
  const dispose = engine.disposeTensor;
  engine.trackTensor = function (tensor, backend) {
    track.call(this, tensor, backend);
    if (watch) watch.peak = Math.max(watch.peak, (this as unknown as { state: { numBytes: number } }).state.numBytes);
    const call = calls.getStore();
    // Variables belong to models and optimizers, which outlive any call.
    if (call?.owned && !(tensor instanceof tf.Variable)) {
      call.owned.add(tensor);
      ownerOf.set(tensor, call);
    }
  };
  engine.disposeTensor = function (tensor) {
    ownerOf.get(tensor)?.owned?.delete(tensor);
    dispose.call(this, tensor);
  };
}

let watch: { peak: number } | null = null;

/** Peak growth of tfjs memory, in bytes, while the synchronous `body` runs. */
export function peakBytesOf(body: () => void): number {
  hookEngine();
  const before = tf.memory().numBytes;
  watch = { peak: before };
  try {
    body();
    return watch.peak - before;
  } finally {
    watch = null;
  }
}

export async function scoped<T>(body: (scope: Scope) => Promise<T>, signal?: AbortSignal): Promise<T> {
  const parent = calls.getStore();
  const inherited = parent?.signal;
  const combined = signal && inherited ? AbortSignal.any([signal, inherited]) : (signal ?? inherited);
  const call: Call = { parent, owned: new Set(), signal: combined, onEnd: [] };
  return calls.run(call, async () => {
    const kept = new Set<tf.Tensor>();
    try {
      throwIfAborted();
      const backend = await ensureBackend();
      hookEngine();
      return await body({
        backend,
        keep(tensor) {
          kept.add(tensor);
          return tensor;
        },
      });
    } finally {
      for (const tensor of call.owned!) {
        if (kept.has(tensor)) {
          ownerOf.delete(tensor);
          if (parent?.owned) {
            parent.owned.add(tensor);
            ownerOf.set(tensor, parent);
          }
        } else if (!tensor.isDisposed) {
          tensor.dispose();
        }
      }
      call.owned!.clear();
      for (const end of call.onEnd.splice(0)) end();
    }
  });
}

/** True inside a robustest call: tensors created now are owned by it. */
export function insideCall(): boolean {
  for (let c = calls.getStore(); c; c = c.parent) if (c.owned) return true;
  return false;
}

/**
 * Runs `body` so that every robustest call it starts, however deeply, runs under `signal` (a test
 * runner's matcher aborts the run of an assertion whose test has ended). Owns no tensors itself.
 */
export function withSignal<T>(signal: AbortSignal, body: () => T): T {
  return calls.run({ parent: calls.getStore(), owned: null, signal, onEnd: [] }, body);
}

/**
 * Runs `build` outside the current call's ownership, for tensors that several calls share (weights
 * derived for the backward pass); pair it with useShared, which frees them.
 */
export function untracked<T>(build: () => T): T {
  return calls.getStore() ? calls.exit(build) : build();
}

/**
 * Registers the current call as a user of a shared resource; `release` runs once no call that used
 * it is still running. Outside any call it does nothing: the resource then lives in whatever
 * tf.tidy built it.
 */
export function useShared(users: Set<object>, release: () => void): void {
  // The outermost call that owns tensors is the one whose end matters.
  let call: Call | undefined;
  for (let c = calls.getStore(); c; c = c.parent) if (c.owned) call = c;
  if (!call || users.has(call)) return;
  users.add(call);
  const owner = call;
  call.onEnd.push(() => {
    users.delete(owner);
    if (users.size === 0) release();
  });
}

/** Throws ABORTED when the current call's signal has fired. */
export function throwIfAborted(): void {
  const signal = calls.getStore()?.signal;
  if (signal?.aborted) throw abortError(signal);
}

export function abortError(signal: AbortSignal): RobustestError {
  const reason = signal.reason instanceof Error ? signal.reason.message : signal.reason === undefined ? 'no reason given' : String(signal.reason);
  return new RobustestError('ABORTED', `The run was cancelled through its AbortSignal (${reason}).`, {
    expected: 'the run to finish',
    received: 'an aborted signal',
  });
}

/** Disposes a tensor or a list of tensors, ignoring undefined and already disposed ones. */
export function dispose(...tensors: (tf.Tensor | undefined | null)[]): void {
  for (const t of tensors) if (t && !t.isDisposed) t.dispose();
}
