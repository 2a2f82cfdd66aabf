/**
 * Where one deployment's state lives in Redis. Every key and every pub/sub channel ggscale uses is
 *
 *   <root><namespace>:<name>        e.g.  ggscale:3f9c2a7d5e1b8c40:{12}:34:rl:player:56
 *
 * where the namespace is the deployment's own random id, kept in its database (namespace.ts). Deployments
 * that share one Redis (staging beside production) have the same tenant, project and player ids, so without
 * it they would spend each other's budgets, take each other's connection slots, read each other's rank
 * indexes and hear each other's revocations. Every Redis user builds its keys here; none writes a bare name.
 *
 * Neither the root nor the namespace holds a brace, so a key's Redis Cluster hash tag (`{tenant}`, put
 * first in every name the domain modules build) stays the first {...} of the whole key.
 */

/** The root in front of every namespace (tests and tools may pass their own, to keep their runs apart). */
export const DEFAULT_ROOT = 'ggscale:';

/** What the database makes: 16 lowercase hex digits (migration 0006); up to 64 accepted. */
export const NAMESPACE_PATTERN = /^[0-9a-f]{16,64}$/;

/** Throws for a root that would break the layout: a brace would become the hash tag. */
export function checkRoot(root: string): string {
  if (/[{}\s]/.test(root)) throw new Error('a Redis key root may hold no brace (it would become the hash tag) and no space');
  return root;
}

export class RedisKeyspace {
  /** Everything this deployment names in Redis starts with this. */
  readonly prefix: string;

  constructor(
    readonly namespace: string,
    readonly root: string = DEFAULT_ROOT,
  ) {
    if (!NAMESPACE_PATTERN.test(namespace)) throw new Error('a deployment namespace is 16 to 64 lowercase hex digits');
    this.prefix = `${checkRoot(root)}${namespace}:`;
  }

  /** The Redis key of `name` (a name built from the authenticated context, never from client input alone). */
  key(name: string): string {
    return this.prefix + name;
  }

  /** The pub/sub channel of `name`. */
  channel(name: string): string {
    return this.prefix + name;
  }

  /** The name of a channel of this keyspace, or undefined for any other channel. */
  channelName(channel: string): string | undefined {
    return channel.startsWith(this.prefix) ? channel.slice(this.prefix.length) : undefined;
  }
}
