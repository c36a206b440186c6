/**
 * Things of some capacity kept between uses and lent best-fit: the smallest idle one that holds a
 * request. At most `keep` stay idle; past that the smallest leaves, since larger ones serve every
 * smaller request.
 */
export class IdlePool<T> {
  private readonly idle: T[] = [];

  constructor(
    private readonly keep: number,
    private readonly capacity: (item: T) => number,
  ) {}

  /** The smallest idle item of at least `capacity`, now no longer idle; undefined if none. */
  take(capacity: number): T | undefined {
    let best = -1;
    for (let i = 0; i < this.idle.length; i++) {
      const c = this.capacity(this.idle[i]!);
      if (c >= capacity && (best < 0 || c < this.capacity(this.idle[best]!))) best = i;
    }
    return best >= 0 ? this.idle.splice(best, 1)[0] : undefined;
  }

  /** Makes `item` idle again. */
  put(item: T): void {
    this.idle.push(item);
    if (this.idle.length <= this.keep) return;
    let smallest = 0;
    for (let i = 1; i < this.idle.length; i++) if (this.capacity(this.idle[i]!) < this.capacity(this.idle[smallest]!)) smallest = i;
    this.idle.splice(smallest, 1);
  }

  /** Whether an idle item satisfies `test`. */
  some(test: (item: T) => boolean): boolean {
    return this.idle.some(test);
  }
}
