/**
 * A FIFO mutex: PGlite is one session, so its transactions must never interleave.
 *
 * Waiting is bounded twice: a caller whose request deadline passes (its signal aborts) stops waiting at once
 * and its turn is skipped, and past `maxWaiting` queued callers a new one is refused at once (POOL_QUEUE_FULL,
 * a 503) rather than joining a queue that cannot drain before its deadline anyway.
 */
import { deadlineExceeded } from '../deadline.js';

export class Mutex {
  private tail: Promise<void> = Promise.resolve();
  private queued = 0;

  constructor(private readonly maxWaiting = Infinity) {}

  get waiting(): number {
    return this.queued;
  }

  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) throw deadlineExceeded();
    if (this.queued >= this.maxWaiting) {
      throw Object.assign(new Error('too many database calls are waiting'), { code: 'POOL_QUEUE_FULL' });
    }
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((resolve) => (release = resolve));
    this.queued++;
    try {
      if (signal) await waitUnlessAborted(previous, signal);
      else await previous;
    } catch (error) {
      // Our turn still comes, and is skipped: the next caller waits for it.
      this.queued--;
      void previous.then(release);
      throw error;
    }
    this.queued--;
    try {
      return await fn();
    } finally {
      release();
    }
  }
}

function waitUnlessAborted(turn: Promise<void>, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(deadlineExceeded());
    signal.addEventListener('abort', onAbort, { once: true });
    void turn.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}
