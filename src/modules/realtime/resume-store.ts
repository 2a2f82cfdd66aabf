/**
 * Resume tokens and handed-over sessions in the cache backend, so a session can be resumed on any node that
 * shares it. A token is 32 random bytes shown once in `welcome`; the cache holds only its SHA-256, under the
 * player's tenant and project, so a token can only ever find a session of the project it was issued in. A
 * record is taken (read and deleted at once) by the resume that uses it: each token works once.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { CacheBackend } from '../../internal/cache/cache.js';
import type { PlayerIdentity, SessionSnapshot } from './session.js';

export interface ResumeRecord {
  key: string;
  identity: PlayerIdentity;
  /** The node holding the session, or null once it has handed the session to the cache. */
  node: string | null;
  /** While detached: when the window ends (ms since the epoch); null while a connection carries it. */
  expiresAt: number | null;
}

/** While attached, a record lives this long (refreshed by each resume); a longer session cannot be resumed. */
const ATTACHED_TTL_MS = 24 * 3600_000;
/** After the window, a record still answers `expired` (rather than `unknown`) for a while. */
const EXPIRED_KEPT_MS = 10 * 60_000;

export type ResumeLookup = { ok: true; record: ResumeRecord } | { ok: false; reason: 'unknown' | 'expired' };

export class ResumeStore {
  constructor(
    private readonly cache: CacheBackend,
    private readonly windowMs: number,
  ) {}

  /** A new token for a session; the record points at this node. */
  async issue(key: string, identity: PlayerIdentity, node: string): Promise<{ token: string; hash: string }> {
    const token = randomBytes(32).toString('base64url');
    const hash = hashToken(token);
    await this.put(hash, { key, identity, node, expiresAt: null });
    return { token, hash };
  }

  /** The session's connection ended: the token works until the window ends. */
  async detached(hash: string, record: Omit<ResumeRecord, 'expiresAt'>): Promise<void> {
    await this.put(hash, { ...record, expiresAt: Date.now() + this.windowMs });
  }

  /** Takes the record of a token presented by this player's session (any other caller finds nothing). */
  async take(token: string, identity: PlayerIdentity): Promise<ResumeLookup> {
    const hash = hashToken(token);
    const raw = await this.cache.takeValue(recordKey(identity, hash));
    if (raw === undefined) return { ok: false, reason: 'unknown' };
    const record = JSON.parse(raw) as ResumeRecord;
    if (record.identity.playerId !== identity.playerId || record.identity.sessionId !== identity.sessionId) {
      // Not this caller's: put it back for its owner, and answer as for a token that does not exist.
      await this.put(hash, record);
      return { ok: false, reason: 'unknown' };
    }
    if (record.expiresAt !== null && record.expiresAt <= Date.now()) return { ok: false, reason: 'expired' };
    return { ok: true, record };
  }

  /** Whether a token names a live session of this player (the connection caps let a resume replace). */
  async peek(token: string, identity: PlayerIdentity): Promise<boolean> {
    const raw = await this.cache.getValue(recordKey(identity, hashToken(token)));
    if (raw === undefined) return false;
    const record = JSON.parse(raw) as ResumeRecord;
    return record.identity.playerId === identity.playerId && record.identity.sessionId === identity.sessionId;
  }

  async forget(identity: PlayerIdentity, hash: string): Promise<void> {
    await this.cache.deleteValue(recordKey(identity, hash));
  }

  /** A draining or closing node leaves the session itself in the cache, for whichever node resumes it. */
  async handOff(snapshot: SessionSnapshot, hash: string): Promise<void> {
    await this.cache.putValue(handoffKey(snapshot.identity, snapshot.key), JSON.stringify(snapshot), this.windowMs + EXPIRED_KEPT_MS);
    await this.put(hash, { key: snapshot.key, identity: snapshot.identity, node: null, expiresAt: Date.now() + this.windowMs });
  }

  async takeHandoff(identity: PlayerIdentity, key: string): Promise<SessionSnapshot | undefined> {
    const raw = await this.cache.takeValue(handoffKey(identity, key));
    return raw === undefined ? undefined : (JSON.parse(raw) as SessionSnapshot);
  }

  private async put(hash: string, record: ResumeRecord): Promise<void> {
    const ttl = record.expiresAt === null ? ATTACHED_TTL_MS : Math.max(1, record.expiresAt - Date.now()) + EXPIRED_KEPT_MS;
    await this.cache.putValue(recordKey(record.identity, hash), JSON.stringify(record), Math.ceil(ttl));
  }
}

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function recordKey(identity: PlayerIdentity, hash: string): string {
  return `{${identity.tenantId}}:${identity.projectId}:rt:resume:${hash}`;
}

function handoffKey(identity: PlayerIdentity, key: string): string {
  return `{${identity.tenantId}}:${identity.projectId}:rt:handoff:${key}`;
}
