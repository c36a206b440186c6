/**
 * Arrays reused from one call to the next. Allocating a large typed array costs far more than
 * filling it (zeroing, external-memory accounting, the collections it triggers): IBP of a block of
 * CNN samples would spend most of its time allocating its slots. A call that hands nothing out
 * (bounds read and dropped before it returns) takes its arrays from here instead, in the same
 * order each time, so each request meets the buffer it had before.
 */
import type { Allocate } from './ops/bound-op.js';

export class Scratch {
  private readonly buffers: Float64Array[] = [];
  private next = 0;

  /** Starts a new call: every buffer may be handed out again. */
  reset(): void {
    this.next = 0;
  }

  /** n values, of undefined content (the caller writes every one), valid until the next reset. */
  readonly take: Allocate = (n) => {
    let buffer = this.buffers[this.next];
    if (!buffer || buffer.length < n) buffer = this.buffers[this.next] = new Float64Array(n);
    this.next++;
    return buffer.length === n ? buffer : buffer.subarray(0, n);
  };
}
