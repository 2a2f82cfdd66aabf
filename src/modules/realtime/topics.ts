/**
 * Which local sessions listen to which topic, and this node's fan-out subscriptions to match: the node
 * subscribes to a topic when its first local session joins it and unsubscribes when the last one leaves,
 * so the broker sends it only what it delivers. A message on a topic is one event, delivered to every local
 * member (each numbers it in its own session). Topics with a sequencer (chat channels) pass their events
 * through it first, one at a time per topic, so it can put them in order and fill gaps from the store.
 */
import { randomBytes } from 'node:crypto';
import type { Fanout } from '../../internal/fanout/fanout.js';
import type { Logger } from '../../internal/telemetry/logger.js';
import type { RealtimeEvent, TopicSequencer } from './api.js';

/**
 * What travels through the fan-out: the event, when it was published (for the latency histogram) and a
 * unique id (a session handed between nodes drops what it already numbered).
 */
interface Envelope {
  t: number;
  i: string;
  e: RealtimeEvent;
}

/** A local listener of topics: a session. */
export interface TopicMember {
  deliver(event: RealtimeEvent, origin?: string): void;
}

interface Topic {
  members: Set<TopicMember>;
  /** Settles once the node is subscribed; resolves to the unsubscribe. */
  subscribed: Promise<(() => Promise<void>) | undefined>;
}

export class TopicRouter {
  private readonly topics = new Map<string, Topic>();
  private readonly sequencers: { prefix: string; sequencer: TopicSequencer }[] = [];
  /** Per sequenced topic, the chain its events go through one at a time. */
  private readonly chains = new Map<string, Promise<void>>();
  private readonly origin = randomBytes(6).toString('hex');
  private published = 0;

  constructor(
    private readonly fanout: Fanout,
    private readonly logger: Logger,
    private readonly onDelivered: (latencyMs: number) => void,
  ) {
    fanout.onGap(() => {
      for (const topic of this.topics.keys()) {
        const sequencer = this.sequencerOf(topic);
        if (sequencer) this.sequence(topic, () => sequencer.resync(topic));
      }
    });
  }

  sequenceTopics(prefix: string, sequencer: TopicSequencer): void {
    if (this.sequencers.some((entry) => entry.prefix.startsWith(prefix) || prefix.startsWith(entry.prefix))) {
      throw new Error(`realtime: topics under "${prefix}" already have a sequencer`);
    }
    this.sequencers.push({ prefix, sequencer });
  }

  /** Adds a local session to a topic; resolves once events published from now on reach it. */
  async join(topic: string, member: TopicMember): Promise<void> {
    const existing = this.topics.get(topic);
    if (existing) {
      existing.members.add(member);
      await existing.subscribed;
      return;
    }
    const entry: Topic = {
      members: new Set([member]),
      subscribed: this.fanout.subscribe(topic, (message) => this.dispatch(topic, message)).catch((error: unknown) => {
        // Events for this topic cannot reach the node until a later join subscribes again.
        this.logger.warn({ err: error }, 'realtime: could not subscribe to a topic');
        if (this.topics.get(topic) === entry) this.topics.delete(topic);
        return undefined;
      }),
    };
    this.topics.set(topic, entry);
    await entry.subscribed;
  }

  leave(topic: string, member: TopicMember): void {
    const entry = this.topics.get(topic);
    if (!entry?.members.delete(member) || entry.members.size > 0) return;
    this.topics.delete(topic);
    void entry.subscribed.then((unsubscribe) => unsubscribe?.()).catch((error: unknown) => this.logger.debug({ err: error }, 'realtime: unsubscribe failed'));
  }

  /** The local sessions of a topic (for tests). */
  members(topic: string): ReadonlySet<TopicMember> {
    return this.topics.get(topic)?.members ?? new Set();
  }

  async publish(topic: string, event: RealtimeEvent): Promise<void> {
    const envelope: Envelope = { t: Date.now(), i: `${this.origin}.${++this.published}`, e: event };
    await this.fanout.publish(topic, JSON.stringify(envelope));
  }

  private sequencerOf(topic: string): TopicSequencer | undefined {
    return this.sequencers.find((entry) => topic.startsWith(entry.prefix))?.sequencer;
  }

  /** Runs a sequencer step after the topic's previous one, and delivers what it answers, in order. */
  private sequence(topic: string, step: () => Promise<readonly RealtimeEvent[]>): void {
    const next = (this.chains.get(topic) ?? Promise.resolve())
      .then(step)
      .then((events) => {
        const members = this.topics.get(topic)?.members ?? new Set<TopicMember>();
        for (const event of events) for (const member of members) member.deliver(event);
      })
      .catch((error: unknown) => this.logger.warn({ err: error }, 'realtime: a topic sequencer failed'))
      .finally(() => {
        if (this.chains.get(topic) === next) this.chains.delete(topic);
      });
    this.chains.set(topic, next);
  }

  private dispatch(topic: string, message: string): void {
    const members = this.topics.get(topic)?.members;
    if (!members || members.size === 0) return;
    let envelope: Envelope;
    try {
      envelope = JSON.parse(message) as Envelope;
    } catch {
      this.logger.warn({ topic }, 'realtime: dropped an unreadable fan-out message');
      return;
    }
    this.onDelivered(Date.now() - envelope.t);
    const sequencer = this.sequencerOf(topic);
    if (sequencer) this.sequence(topic, () => sequencer.accept(topic, envelope.e));
    else for (const member of members) member.deliver(envelope.e, envelope.i);
  }
}

/** Every session of one player in one project (topics start with the tenant: a Redis Cluster hash tag). */
export function playerTopic(tenantId: string, projectId: string, playerId: string): string {
  return `{${tenantId}}:${projectId}:rt:player:${playerId}`;
}
