/**
 * A fixed-capacity ring buffer: the last `capacity` items pushed, oldest
 * first. Memory stays bounded however long the agent runs and however
 * often things happen; the oldest item is overwritten once it is full.
 *
 * | capacity | pushed       | items()   | dropped |
 * |----------|--------------|-----------|---------|
 * | 3        | a            | a         | 0       |
 * | 3        | a b c        | a b c     | 0       |
 * | 3        | a b c d e    | c d e     | 2       |
 */
export class Ring<T> {
  private readonly slots: (T | undefined)[];
  private next = 0;
  private count = 0;
  /** Items overwritten since creation (pushed − kept). */
  dropped = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`ring capacity must be a positive integer, got ${capacity}`);
    this.slots = new Array<T | undefined>(capacity);
  }

  get size(): number {
    return this.count;
  }

  push(item: T): void {
    if (this.count === this.capacity) this.dropped += 1;
    else this.count += 1;
    this.slots[this.next] = item;
    this.next = (this.next + 1) % this.capacity;
  }

  /** Oldest first. */
  items(): T[] {
    const start = (this.next - this.count + this.capacity) % this.capacity;
    const out: T[] = [];
    for (let i = 0; i < this.count; i++) out.push(this.slots[(start + i) % this.capacity] as T);
    return out;
  }
}
