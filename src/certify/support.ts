/**
 * The entries of a slot where some row of a backward block may be nonzero. A row that starts at
 * one neuron of a convolution reaches only that neuron's receptive field, a few percent of each
 * earlier layer: relaxations, transposes, the final minimum and the clearing of the block then
 * walk those entries only. Entries outside the support are exactly zero in every row.
 */
export class Support {
  /** The listed entries, first `count` of them (unordered); unused when `full`. */
  readonly entries: Int32Array;
  private readonly marked: Uint8Array;
  count = 0;
  /** Every entry may be nonzero: loops run over 0 … size − 1 directly. */
  full = false;

  constructor(readonly size: number) {
    this.entries = new Int32Array(size);
    this.marked = new Uint8Array(size);
  }

  /** The t-th entry (t < count). */
  at(t: number): number {
    return this.full ? t : this.entries[t]!;
  }

  has(e: number): boolean {
    return this.full || this.marked[e] === 1;
  }

  add(e: number): void {
    if (this.full || this.marked[e] === 1) return;
    this.marked[e] = 1;
    this.entries[this.count++] = e;
  }

  /** Entries from … from + length − 1. */
  addRange(from: number, length: number): void {
    if (this.full) return;
    for (let e = from; e < from + length; e++) {
      if (this.marked[e] === 1) continue;
      this.marked[e] = 1;
      this.entries[this.count++] = e;
    }
  }

  fill(): void {
    this.full = true;
    this.count = this.size;
  }

  /** Zeros the listed entries of `rows` rows laid end to end in `block`, then forgets them. */
  clear(block: Float64Array, rows: number): void {
    if (this.full) block.fill(0, 0, rows * this.size);
    else {
      for (let t = 0; t < this.count; t++) {
        const e = this.entries[t]!;
        this.marked[e] = 0;
        for (let j = 0; j < rows; j++) block[j * this.size + e] = 0;
      }
    }
    this.count = 0;
    this.full = false;
  }
}
