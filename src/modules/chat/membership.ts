/**
 * Who is in a channel, across nodes: two lease sets per channel in the cache backend. One holds a lease per
 * joined session (`<player>:<session key>`), the other a lease per joined player, capped at the channel's
 * member limit, so a full room refuses atomically. The node holding a session renews its leases while it
 * lives (detached sessions included); a crashed node's leases expire within LEASE_TTL_MS.
 */
import type { ProjectScope } from '../../http/auth-context.js';
import type { CacheBackend } from '../../internal/cache/cache.js';

/** How long a lease outlives its last renewal. */
export const LEASE_TTL_MS = 30_000;
/** Sessions per channel are not capped by themselves: the player set is. */
const SESSION_CAP = 1_000_000_000;

const setKey = (scope: ProjectScope, kind: 'players' | 'sessions', channel: string) => `{${scope.tenantId}}:${scope.projectId}:chat:${kind}:${channel}`;
const sessionMember = (playerId: string, sessionKey: string) => `${playerId}:${sessionKey}`;
const playerOf = (member: string) => member.slice(0, member.indexOf(':'));

export class Membership {
  constructor(
    private readonly cache: CacheBackend,
    private readonly ttlMs = LEASE_TTL_MS,
  ) {}

  /**
   * Adds a session. Answers `full` when the player is not a member yet and the channel holds `cap` players,
   * else whether this is the player's first session in the channel.
   */
  async join(scope: ProjectScope, channel: string, playerId: string, sessionKey: string, cap: number): Promise<'full' | 'first' | 'again'> {
    const before = await this.cache.listLeases(setKey(scope, 'sessions', channel));
    const first = !before.some((member) => playerOf(member) === playerId && member !== sessionMember(playerId, sessionKey));
    const player = await this.cache.acquireLease(setKey(scope, 'players', channel), playerId, cap, this.ttlMs);
    if (!player.acquired) return 'full';
    await this.cache.acquireLease(setKey(scope, 'sessions', channel), sessionMember(playerId, sessionKey), SESSION_CAP, this.ttlMs);
    return first ? 'first' : 'again';
  }

  /** Removes a session; true when it was the player's last one in the channel (the player left). */
  async leave(scope: ProjectScope, channel: string, playerId: string, sessionKey: string): Promise<boolean> {
    await this.cache.releaseLease(setKey(scope, 'sessions', channel), sessionMember(playerId, sessionKey));
    if (await this.hasSession(scope, channel, playerId)) return false;
    await this.cache.releaseLease(setKey(scope, 'players', channel), playerId);
    return true;
  }

  /** The players joined to the channel (each once). */
  async players(scope: ProjectScope, channel: string): Promise<string[]> {
    return this.cache.listLeases(setKey(scope, 'players', channel));
  }

  /** Whether any session of the player, on any node, is joined to the channel. */
  async hasSession(scope: ProjectScope, channel: string, playerId: string): Promise<boolean> {
    return (await this.cache.listLeases(setKey(scope, 'sessions', channel))).some((member) => playerOf(member) === playerId);
  }

  /** Keeps a local session's live leases alive (the node renews what it holds every third of the ttl). */
  async keepAlive(scope: ProjectScope, channel: string, playerId: string, sessionKey: string): Promise<void> {
    await this.cache.renewLeases(setKey(scope, 'players', channel), [playerId], this.ttlMs);
    await this.cache.renewLeases(setKey(scope, 'sessions', channel), [sessionMember(playerId, sessionKey)], this.ttlMs);
  }

  /** Takes a session's leases again (a resumed session: they may have expired while it was in no node's hands). */
  async renew(scope: ProjectScope, channel: string, playerId: string, sessionKey: string): Promise<void> {
    await this.cache.acquireLease(setKey(scope, 'players', channel), playerId, SESSION_CAP, this.ttlMs);
    await this.cache.acquireLease(setKey(scope, 'sessions', channel), sessionMember(playerId, sessionKey), SESSION_CAP, this.ttlMs);
  }
}
