/** Fan-out inside one process: what one node on CACHE_BACKEND=memory uses. */
import type { Logger } from '../telemetry/logger.js';
import type { Fanout, FanoutHandler } from './fanout.js';

export class MemoryFanout implements Fanout {
  readonly kind = 'memory';
  private readonly topics = new Map<string, Set<FanoutHandler>>();

  constructor(private readonly logger?: Logger) {}

  get topicCount(): number {
    return this.topics.size;
  }

  async publish(topic: string, message: string): Promise<void> {
    const handlers = this.topics.get(topic);
    if (!handlers) return;
    // Delivered on a later turn, like a broker's: never inside the publisher's call stack or its request's
    // deadline. One macrotask per publish keeps publish order.
    const targets = [...handlers];
    setImmediate(() => {
      for (const handler of targets) {
        // Unsubscribed since the publish: like a broker, deliver nothing after the unsubscribe has settled.
        if (!this.topics.get(topic)?.has(handler)) continue;
        try {
          handler(message);
        } catch (error) {
          this.logger?.warn({ err: error, topic }, 'fan-out handler threw');
        }
      }
    });
  }

  async subscribe(topic: string, handler: FanoutHandler): Promise<() => Promise<void>> {
    const handlers = this.topics.get(topic) ?? new Set();
    handlers.add(handler);
    this.topics.set(topic, handlers);
    return async () => {
      const current = this.topics.get(topic);
      if (!current?.delete(handler)) return;
      if (current.size === 0) this.topics.delete(topic);
    };
  }

  /** One process never loses its own messages. */
  onGap(): void {}

  async close(): Promise<void> {
    this.topics.clear();
  }
}
