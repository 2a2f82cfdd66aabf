/**
 * The node's view of each channel topic it listens to: realtime hands it every event of a `chat:` topic, one
 * at a time per topic, and it answers what to deliver to the node's sessions, in seq order, none skipped.
 * It remembers the last message seq the node delivered per topic. A message right after it goes out; one
 * already delivered (the gap fill read it first) is dropped; one further ahead means the fan-out lost or
 * reordered some: the missing ones are read from PostgreSQL (a seq is visible only once every lower seq is
 * committed, see message-store.ts) and delivered first. After a fan-out outage (resync), everything after the
 * last delivered seq is read. Joins and resumes take the same per-topic lock to set where a session starts.
 */
import type { Logger } from '../../internal/telemetry/logger.js';
import type { RealtimeEvent, TopicSequencer } from '../realtime/api.js';
import type { ChatMessage } from './api.js';
import { topicChannel } from './channel-id.js';
import type { MessageStore } from './message-store.js';

/** Messages read per statement while filling a gap. */
const FILL_PAGE = 500;

export const MESSAGE_EVENT = 'channel.message';

export const messageEvent = (message: ChatMessage): RealtimeEvent => ({ op: MESSAGE_EVENT, message });

export class ChannelFeed implements TopicSequencer {
  /** Per topic: the last message seq delivered on this node. */
  private readonly delivered = new Map<string, number>();
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(
    private readonly store: MessageStore,
    private readonly logger: Logger,
  ) {}

  /** Runs `fn` alone for this topic: no event of the topic is delivered meanwhile. */
  withLock<T>(topic: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(topic) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.locks.set(topic, settled);
    void settled.then(() => {
      if (this.locks.get(topic) === settled) this.locks.delete(topic);
    });
    return run;
  }

  accept(topic: string, event: RealtimeEvent): Promise<readonly RealtimeEvent[]> {
    return this.withLock(topic, async () => {
      if (event.op !== MESSAGE_EVENT) return [event];
      const seq = (event.message as ChatMessage).seq;
      const last = this.delivered.get(topic);
      if (last === undefined || seq === last + 1) {
        this.delivered.set(topic, seq);
        return [event];
      }
      if (seq <= last) return [];
      this.logger.debug({ topic, last, seq }, 'chat: filling a gap in a channel from the store');
      const filled = await this.read(topic, last, seq);
      this.delivered.set(topic, seq);
      return filled;
    });
  }

  resync(topic: string): Promise<readonly RealtimeEvent[]> {
    return this.withLock(topic, async () => {
      const last = this.delivered.get(topic);
      if (last === undefined) return [];
      const filled = await this.read(topic, last, undefined);
      const newest = (filled.at(-1)?.message as ChatMessage | undefined)?.seq;
      if (newest !== undefined) this.delivered.set(topic, newest);
      return filled;
    });
  }

  /**
   * A session starts listening at `lastSeq` (call under the topic's lock). The node's position moves there
   * when it has none, or when no other session of the node listens (nothing of theirs can be in flight).
   */
  startAt(topic: string, lastSeq: number, alone: boolean): void {
    const last = this.delivered.get(topic);
    if (last === undefined || alone) this.delivered.set(topic, lastSeq);
  }

  /** No session of this node listens to the topic any more. */
  forget(topic: string): void {
    this.delivered.delete(topic);
  }

  /** The messages after `after` (up to `upto`), as events, oldest first. */
  private async read(topic: string, after: number, upto: number | undefined): Promise<RealtimeEvent[]> {
    const parsed = topicChannel(topic);
    if (!parsed) return [];
    const events: RealtimeEvent[] = [];
    let from = after;
    for (;;) {
      const page = await this.store.after(parsed.scope, parsed.channel, from, FILL_PAGE, upto);
      events.push(...page.map(messageEvent));
      if (page.length < FILL_PAGE) return events;
      from = page.at(-1)!.seq;
    }
  }
}
