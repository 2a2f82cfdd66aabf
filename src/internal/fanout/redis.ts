/**
 * Fan-out through Redis pub/sub, shared by every node on the same Redis. Each node SUBSCRIBEs to exactly the
 * topics its connections need (per-node subscriptions), so Redis sends a node only what it will deliver: a
 * message to a 1,000-member room split over two nodes leaves Redis twice, once per node. Topics live in the
 * deployment's keyspace (../cache/keyspace.ts).
 *
 * Why not sharded pub/sub (SSUBSCRIBE, Redis 7): on one Redis server it behaves the same; it matters on Redis
 * Cluster, where classic PUBLISH is broadcast to every shard. Topic names start with the tenant's hash tag,
 * so moving to SPUBLISH/SSUBSCRIBE there is a change inside this file.
 */
import { Redis } from 'ioredis';
import { RedisKeyspace } from '../cache/keyspace.js';
import { connectionOptions, shutdown } from '../cache/redis.js';
import { unavailable } from '../errors/app-error.js';
import type { Logger } from '../telemetry/logger.js';
import type { Fanout, FanoutHandler } from './fanout.js';

export interface RedisFanoutOptions {
  url: string;
  /** The deployment namespace, read once (from the database) before the first subscribe or publish. */
  namespace: () => Promise<string>;
  /** The keyspace root (tests pass their own to keep runs apart). */
  root?: string;
  logger?: Logger;
}

export class RedisFanout implements Fanout {
  readonly kind = 'redis';
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private readonly topics = new Map<string, Set<FanoutHandler>>();
  private readonly gapListeners: (() => void)[] = [];
  private keyspace: Promise<RedisKeyspace> | undefined;
  private bound: RedisKeyspace | undefined;
  private subscriberWasDown = false;

  constructor(private readonly options: RedisFanoutOptions) {
    const root = options.root ?? 'ggscale:';
    this.publisher = new Redis(options.url, connectionOptions(`${root}fanout-pub`));
    // Subscriptions are replayed by us on 'ready' (not by ioredis), so a gap is reported only once they hold.
    this.subscriber = new Redis(options.url, { ...connectionOptions(`${root}fanout-sub`), autoResubscribe: false });
    for (const [name, connection] of [['publisher', this.publisher], ['subscriber', this.subscriber]] as const) {
      connection.on('error', (error: Error) => options.logger?.debug({ err: error, connection: name }, 'fan-out redis connection error'));
    }
    this.subscriber.on('close', () => {
      this.subscriberWasDown = true;
    });
    this.subscriber.on('ready', () => void this.resubscribe());
    this.subscriber.on('message', (channel: string, message: string) => this.dispatch(channel, message));
  }

  get topicCount(): number {
    return this.topics.size;
  }

  private space(): Promise<RedisKeyspace> {
    this.keyspace ??= this.options.namespace().then(
      (namespace) => (this.bound = new RedisKeyspace(namespace, this.options.root)),
      (error: unknown) => {
        this.keyspace = undefined; // asked again next time (the database may be starting)
        throw error;
      },
    );
    return this.keyspace;
  }

  async publish(topic: string, message: string): Promise<void> {
    const space = await this.space();
    if (!(await ready(this.publisher))) throw unavailable('The realtime fan-out is unreachable.');
    await this.publisher.publish(space.channel(topic), message);
  }

  async subscribe(topic: string, handler: FanoutHandler): Promise<() => Promise<void>> {
    const handlers = this.topics.get(topic);
    if (handlers) handlers.add(handler);
    else {
      this.topics.set(topic, new Set([handler]));
      let space: RedisKeyspace;
      try {
        space = await this.space();
      } catch (error) {
        // No namespace yet (the database is starting): nothing is subscribed, so the caller may try again.
        await this.unsubscribe(topic, handler);
        throw error;
      }
      // Not connected: the next 'ready' subscribes every topic, then reports the gap.
      if ((await ready(this.subscriber)) && this.topics.get(topic)?.has(handler)) {
        await this.subscriber.subscribe(space.channel(topic)).catch((error: unknown) => {
          this.options.logger?.warn({ err: error }, 'fan-out: subscribing failed; retried on reconnect');
        });
      }
    }
    return () => this.unsubscribe(topic, handler);
  }

  private async unsubscribe(topic: string, handler: FanoutHandler): Promise<void> {
    const handlers = this.topics.get(topic);
    if (!handlers?.delete(handler) || handlers.size > 0) return;
    this.topics.delete(topic);
    if (!this.bound || this.subscriber.status !== 'ready') return; // a reconnect subscribes only live topics
    await this.subscriber.unsubscribe(this.bound.channel(topic)).catch(() => undefined);
  }

  onGap(listener: () => void): void {
    this.gapListeners.push(listener);
  }

  private dispatch(channel: string, message: string): void {
    const topic = this.bound?.channelName(channel);
    if (topic === undefined) return;
    for (const handler of this.topics.get(topic) ?? []) {
      try {
        handler(message);
      } catch (error) {
        this.options.logger?.warn({ err: error, topic }, 'fan-out handler threw');
      }
    }
  }

  private async resubscribe(): Promise<void> {
    const space = this.bound;
    const channels = space ? [...this.topics.keys()].map((topic) => space.channel(topic)) : [];
    try {
      if (channels.length > 0) await this.subscriber.subscribe(...channels);
    } catch (error) {
      this.options.logger?.warn({ err: error }, 'fan-out: re-subscribing failed; retrying on the next reconnect');
      return;
    }
    if (!this.subscriberWasDown) return;
    this.subscriberWasDown = false;
    for (const listener of this.gapListeners) {
      try {
        listener();
      } catch (error) {
        this.options.logger?.warn({ err: error }, 'fan-out gap listener threw');
      }
    }
  }

  async close(): Promise<void> {
    this.topics.clear();
    await Promise.all([shutdown(this.publisher), shutdown(this.subscriber)]);
  }
}

/** How long a first command waits for a connection that is still being established. */
const CONNECT_WAIT_MS = 1_000;

/** Ready now, or within CONNECT_WAIT_MS when the first connection is still being made (not while reconnecting). */
async function ready(connection: Redis): Promise<boolean> {
  if (connection.status === 'ready') return true;
  if (connection.status !== 'wait' && connection.status !== 'connecting' && connection.status !== 'connect') return false;
  return new Promise<boolean>((resolve) => {
    const done = (outcome: boolean) => {
      clearTimeout(timer);
      connection.off('ready', onReady);
      resolve(outcome);
    };
    const onReady = () => done(true);
    const timer = setTimeout(() => done(false), CONNECT_WAIT_MS);
    connection.once('ready', onReady);
  });
}
