/**
 * Parties on Redis (CACHE_BACKEND=redis), shared by every node. Each write is one Lua script that checks the
 * party's rev, refuses a claimed player already in another party, and then writes the document, the "party
 * of" keys and the disconnect-deadline index together. Every key of one write carries the tenant's hash tag,
 * so a script never crosses Redis Cluster slots; the one key outside a tenant is the set of tenants that ever
 * had a deadline (the sweeper's starting point), which only grows with the tenants. Keys live in the
 * deployment's keyspace (src/internal/cache/keyspace.ts). Its own connection fails fast while Redis is down:
 * party ops then answer 503 unavailable.
 */
import { Redis } from 'ioredis';
import type { ProjectScope } from '../../http/auth-context.js';
import { DEFAULT_ROOT, RedisKeyspace, checkRoot } from '../../internal/cache/keyspace.js';
import { connectionOptions, whenReady } from '../../internal/cache/redis.js';
import { AppError, unavailable } from '../../internal/errors/app-error.js';
import { earliestDeadline, type PartyDoc } from './party.js';
import {
  deadlinesKey,
  partyKey,
  partyOfKey,
  publishedKey,
  PUBLISHED_TTL_MS,
  type CommitOutcome,
  type DuePartyRef,
  type PartyStore,
  type PartyWrite,
} from './party-store.js';

/**
 * KEYS: party, deadlines, then `claims` party-of keys, then the party-of keys to release.
 * ARGV: expected rev ('' = must not exist), next document ('' = delete), deadline ('' = none), index member,
 * party id, number of claim keys.
 */
const COMMIT_LUA = `
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '' then
  if current then return 'stale' end
else
  if not current then return 'stale' end
  if tonumber(cjson.decode(current)['rev']) ~= tonumber(ARGV[1]) then return 'stale' end
end
local claims = tonumber(ARGV[6])
for i = 1, claims do
  local held = redis.call('GET', KEYS[2 + i])
  if held and held ~= ARGV[5] then return 'taken' end
end
for i = 1, claims do redis.call('SET', KEYS[2 + i], ARGV[5]) end
for i = 3 + claims, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[5] then redis.call('DEL', KEYS[i]) end
end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2]) end
if ARGV[3] == '' then redis.call('ZREM', KEYS[2], ARGV[4]) else redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4]) end
return 'ok'`;

/** KEYS: published mark. ARGV: version, ttl ms. Never lowers the mark. */
const MARK_LUA = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
return 1`;

/** KEYS: a tenant's deadlines. ARGV: now, claimed until, limit. Answers the due members, each claimed. */
const CLAIM_LUA = `
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, member in ipairs(due) do redis.call('ZADD', KEYS[1], ARGV[2], member) end
return due`;

interface Scripts {
  partyCommit(...keysAndArgs: (string | number)[]): Promise<string>;
  partyMark(key: string, version: number, ttlMs: number): Promise<number>;
  partyClaim(key: string, now: number, until: number, limit: number): Promise<string[]>;
}

export interface RedisPartyStoreOptions {
  url: string;
  /** The root in front of the namespace (default 'ggscale:'; tests use a random one per run). */
  keyPrefix?: string;
  /** The deployment namespace, or where to read it (on first use). */
  namespace: string | (() => Promise<string>);
}

const TENANTS = 'parties:deadline-tenants';

export class RedisPartyStore implements PartyStore {
  readonly kind = 'redis';
  private readonly client: Redis & Scripts;
  private readonly root: string;
  private keyspace: RedisKeyspace | undefined;

  constructor(private readonly options: RedisPartyStoreOptions) {
    this.root = checkRoot(options.keyPrefix ?? DEFAULT_ROOT);
    // The cache's fail-fast options; a party change is one script, given longer than a budget decision.
    this.client = new Redis(options.url, { ...connectionOptions('ggscale-parties'), commandTimeout: 5_000 }) as Redis & Scripts;
    this.client.on('error', () => undefined);
    this.client.defineCommand('partyCommit', { lua: COMMIT_LUA });
    this.client.defineCommand('partyMark', { numberOfKeys: 1, lua: MARK_LUA });
    this.client.defineCommand('partyClaim', { numberOfKeys: 1, lua: CLAIM_LUA });
  }

  /** Resolves once connected (false after timeoutMs). */
  waitReady(timeoutMs: number): Promise<boolean> {
    return whenReady(this.client, timeoutMs);
  }

  async get(scope: ProjectScope, partyId: string): Promise<PartyDoc | undefined> {
    const raw = await this.call((space) => this.client.get(space.key(partyKey(scope, partyId))));
    return raw === null ? undefined : (JSON.parse(raw) as PartyDoc);
  }

  async partyOf(scope: ProjectScope, playerId: string): Promise<string | undefined> {
    return (await this.call((space) => this.client.get(space.key(partyOfKey(scope, playerId))))) ?? undefined;
  }

  async commit(scope: ProjectScope, write: PartyWrite): Promise<CommitOutcome> {
    const deadline = write.next === null ? null : earliestDeadline(write.next);
    if (deadline !== null) await this.call((space) => this.client.sadd(space.key(TENANTS), scope.tenantId));
    const outcome = await this.call((space) => {
      const keys = [
        space.key(partyKey(scope, write.id)),
        space.key(deadlinesKey(scope.tenantId)),
        ...write.claim.map((player) => space.key(partyOfKey(scope, player))),
        ...write.release.map((player) => space.key(partyOfKey(scope, player))),
      ];
      const args = [
        write.expectedRev === null ? '' : String(write.expectedRev),
        write.next === null ? '' : JSON.stringify(write.next),
        deadline === null ? '' : String(deadline),
        `${scope.projectId}:${write.id}`,
        write.id,
        String(write.claim.length),
      ];
      return this.client.partyCommit(keys.length, ...keys, ...args);
    });
    return outcome as CommitOutcome;
  }

  async published(scope: ProjectScope, partyId: string): Promise<number> {
    return Number((await this.call((space) => this.client.get(space.key(publishedKey(scope, partyId))))) ?? 0);
  }

  async markPublished(scope: ProjectScope, partyId: string, version: number): Promise<void> {
    await this.call((space) => this.client.partyMark(space.key(publishedKey(scope, partyId)), version, PUBLISHED_TTL_MS));
  }

  async claimDue(nowMs: number, claimMs: number, limit: number): Promise<DuePartyRef[]> {
    const tenants = await this.call((space) => this.client.smembers(space.key(TENANTS)));
    const due: DuePartyRef[] = [];
    for (const tenantId of tenants) {
      if (due.length >= limit) break;
      const members = await this.call((space) => this.client.partyClaim(space.key(deadlinesKey(tenantId)), nowMs, nowMs + claimMs, limit - due.length));
      for (const member of members) {
        const split = member.indexOf(':');
        due.push({ tenantId, projectId: member.slice(0, split), partyId: member.slice(split + 1) });
      }
    }
    return due;
  }

  async close(): Promise<void> {
    if (this.client.status === 'end') return;
    await this.client.quit().catch(() => this.client.disconnect());
  }

  /** Runs a command with the keyspace read; Redis failures become 503 unavailable. */
  private async call<T>(run: (space: RedisKeyspace) => Promise<T>): Promise<T> {
    try {
      if (!this.keyspace) {
        const { namespace } = this.options;
        this.keyspace = new RedisKeyspace(typeof namespace === 'string' ? namespace : await namespace(), this.root);
      }
      return await run(this.keyspace);
    } catch (error) {
      if (error instanceof AppError) throw error;
      throw unavailable('Parties are briefly unavailable; try again shortly.', 1);
    }
  }
}
