/**
 * Host buffers lent to executor calls and attack loops and taken back afterwards. A new
 * ArrayBuffer of a few megabytes costs fresh pages on every call (on this kind of virtual machine
 * 1.7 ms for 2 MB, against 0.06 ms to refill one already touched) and garbage to collect, and an
 * attack makes such a call per step for its inputs and again for each output. A buffer is lent
 * to one borrower at a time, so concurrent calls never share one.
 */
import { IdlePool } from './idle-pool.js';

/** At most this many idle buffers, and none larger than MAX_KEPT values, are kept. */
const KEEP = 8;
const MAX_KEPT = 16 * 1024 * 1024;

const idle = new IdlePool<Float32Array>(KEEP, (b) => b.length);

/** A buffer of exactly `length` values (contents unspecified) until it is given back. */
export function borrow(length: number): Float32Array {
  const whole = idle.take(length) ?? new Float32Array(length);
  return whole.length === length ? whole : whole.subarray(0, length);
}

/** Takes back buffers from borrow(); the caller no longer reads or writes them. */
export function giveBack(...buffers: Float32Array[]): void {
  for (const view of buffers) {
    const whole = view.byteOffset === 0 && view.length * 4 === view.buffer.byteLength ? view : new Float32Array(view.buffer);
    if (whole.length > MAX_KEPT || idle.some((b) => b.buffer === whole.buffer)) continue;
    idle.put(whole);
  }
}
