/** A FIFO mutex: PGlite is one session, so its transactions must never interleave. */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();
  private queued = 0;

  get waiting(): number {
    return this.queued;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((resolve) => (release = resolve));
    this.queued++;
    try {
      await previous;
      this.queued--;
      return await fn();
    } finally {
      release();
    }
  }
}
