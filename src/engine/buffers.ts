/**
 * Host buffers lent to executor calls and attack loops and taken back afterwards. A new
 * ArrayBuffer of a few megabytes costs fresh pages on every call (on this kind of virtual machine
 * 1.7 ms for 2 MB, against 0.06 ms to refill one already touched) and garbage to collect, and an
 * attack makes such a call per step for its inputs and again for each output. A buffer is lent
 * to one borrower at a time, so concurrent calls never share one.
 */

/** At most this many idle buffers, and none larger than MAX_KEPT values, are kept. */
const KEEP = 8;
const MAX_KEPT = 16 * 1024 * 1024;

const idle: Float32Array[] = [];

/** A buffer of exactly `length` values (contents unspecified) until it is given back. */
export function borrow(length: number): Float32Array {
  let best = -1;
  for (let i = 0; i < idle.length; i++) {
    const capacity = idle[i]!.length;
    if (capacity >= length && (best < 0 || capacity < idle[best]!.length)) best = i;
  }
  const whole = best >= 0 ? idle.splice(best, 1)[0]! : new Float32Array(length);
  return whole.length === length ? whole : whole.subarray(0, length);
}

/** Takes back buffers from borrow(); the caller no longer reads or writes them. */
export function giveBack(...buffers: Float32Array[]): void {
  for (const view of buffers) {
    const whole = view.byteOffset === 0 && view.length * 4 === view.buffer.byteLength ? view : new Float32Array(view.buffer);
    if (whole.length > MAX_KEPT || idle.some((b) => b.buffer === whole.buffer)) continue;
    idle.push(whole);
    if (idle.length > KEEP) {
      // The smallest goes: larger ones serve every smaller request.
      let smallest = 0;
      for (let i = 1; i < idle.length; i++) if (idle[i]!.length < idle[smallest]!.length) smallest = i;
      idle.splice(smallest, 1);
    }
  }
}
