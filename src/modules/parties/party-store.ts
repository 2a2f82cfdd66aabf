/**
 * Where parties live: the cache backend's kind, shared by every node on Redis, held by one node on memory.
 * Two implementations pass one contract suite (test/parties/store.test.ts): memory-party-store.ts and
 * redis-party-store.ts. Each party is one JSON document, and each member has a "party of" key naming its
 * party; a write replaces both together, atomically, only if the party's `rev` is still the one the writer
 * read (a compare-and-set). The rules live in TypeScript (party-service.ts), which reads, decides and
 * retries on a lost race. Every key is built from the authenticated scope: `{tenant}:<project>:party…`.
 *
 * Two more things live beside the parties: the highest version whose events have been sent (events of one
 * party go out in version order across nodes), and the disconnect deadlines, indexed so that a sweeper on
 * any node can claim the due ones (each claim holds for a while, so one node handles each).
 */
import type { ProjectScope } from '../../http/auth-context.js';
import type { PartyDoc } from './party.js';

export interface PartyWrite {
  id: string;
  /** The rev the party had when it was read; null: it must not exist yet (a create). */
  expectedRev: number | null;
  /** The party after the change (its rev one more), or null: the party closes. */
  next: PartyDoc | null;
  /** Players whose "party of" key is set to this party; a key naming another party refuses the write. */
  claim: readonly string[];
  /** Players whose "party of" key is removed (when it names this party). */
  release: readonly string[];
}

/** `stale`: the party changed since it was read; `taken`: a claimed player is in another party. */
export type CommitOutcome = 'ok' | 'stale' | 'taken';

export interface DuePartyRef {
  tenantId: string;
  projectId: string;
  partyId: string;
}

export interface PartyStore {
  readonly kind: 'memory' | 'redis';
  get(scope: ProjectScope, partyId: string): Promise<PartyDoc | undefined>;
  /** The id of the player's party, if it is in one. */
  partyOf(scope: ProjectScope, playerId: string): Promise<string | undefined>;
  commit(scope: ProjectScope, write: PartyWrite): Promise<CommitOutcome>;
  /** The highest version of the party whose events have been sent (0 when none). */
  published(scope: ProjectScope, partyId: string): Promise<number>;
  /** Records that the events of `version` have been sent (never lowers the mark). */
  markPublished(scope: ProjectScope, partyId: string, version: number): Promise<void>;
  /**
   * Parties with a disconnect deadline at or before `nowMs`, at most `limit`; each is claimed until
   * `nowMs + claimMs` (another sweeper sees it again only after that, if nothing rewrote it meanwhile).
   */
  claimDue(nowMs: number, claimMs: number, limit: number): Promise<DuePartyRef[]>;
  close(): Promise<void>;
}

/** How long a published-version mark outlives the party's last event. */
export const PUBLISHED_TTL_MS = 3_600_000;

/** The names every store uses (a Redis Cluster hash tag per tenant). */
export const partyKey = (scope: ProjectScope, partyId: string): string => `{${scope.tenantId}}:${scope.projectId}:party:${partyId}`;
export const partyOfKey = (scope: ProjectScope, playerId: string): string => `{${scope.tenantId}}:${scope.projectId}:party-of:${playerId}`;
export const publishedKey = (scope: ProjectScope, partyId: string): string => `${partyKey(scope, partyId)}:published`;
/** The tenant's disconnect deadlines (members are `<project>:<party id>`). */
export const deadlinesKey = (tenantId: string): string => `{${tenantId}}:parties:deadlines`;
