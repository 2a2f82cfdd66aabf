/** Parties in this process (CACHE_BACKEND=memory): one node holds them, and a restart loses them. */
import type { ProjectScope } from '../../http/auth-context.js';
import { earliestDeadline, type PartyDoc } from './party.js';
import { partyKey, partyOfKey, publishedKey, PUBLISHED_TTL_MS, type CommitOutcome, type DuePartyRef, type PartyStore, type PartyWrite } from './party-store.js';

const clone = (party: PartyDoc): PartyDoc => JSON.parse(JSON.stringify(party)) as PartyDoc;

export class MemoryPartyStore implements PartyStore {
  readonly kind = 'memory';
  private readonly parties = new Map<string, PartyDoc>();
  private readonly partyOfs = new Map<string, string>();
  private readonly marks = new Map<string, { version: number; expiresAt: number }>();
  /** Deadlines by party key, with the scope to hand back. */
  private readonly deadlines = new Map<string, DuePartyRef & { at: number }>();

  get(scope: ProjectScope, partyId: string): Promise<PartyDoc | undefined> {
    const party = this.parties.get(partyKey(scope, partyId));
    return Promise.resolve(party && clone(party));
  }

  partyOf(scope: ProjectScope, playerId: string): Promise<string | undefined> {
    return Promise.resolve(this.partyOfs.get(partyOfKey(scope, playerId)));
  }

  commit(scope: ProjectScope, write: PartyWrite): Promise<CommitOutcome> {
    const key = partyKey(scope, write.id);
    const current = this.parties.get(key);
    if (write.expectedRev === null ? current !== undefined : current?.rev !== write.expectedRev) return Promise.resolve('stale');
    for (const player of write.claim) {
      const held = this.partyOfs.get(partyOfKey(scope, player));
      if (held !== undefined && held !== write.id) return Promise.resolve('taken');
    }
    for (const player of write.claim) this.partyOfs.set(partyOfKey(scope, player), write.id);
    for (const player of write.release) {
      if (this.partyOfs.get(partyOfKey(scope, player)) === write.id) this.partyOfs.delete(partyOfKey(scope, player));
    }
    if (write.next === null) this.parties.delete(key);
    else this.parties.set(key, clone(write.next));
    const deadline = write.next === null ? null : earliestDeadline(write.next);
    if (deadline === null) this.deadlines.delete(key);
    else this.deadlines.set(key, { tenantId: scope.tenantId, projectId: scope.projectId, partyId: write.id, at: deadline });
    return Promise.resolve('ok');
  }

  published(scope: ProjectScope, partyId: string): Promise<number> {
    const mark = this.marks.get(publishedKey(scope, partyId));
    return Promise.resolve(mark && mark.expiresAt > Date.now() ? mark.version : 0);
  }

  markPublished(scope: ProjectScope, partyId: string, version: number): Promise<void> {
    const key = publishedKey(scope, partyId);
    const mark = this.marks.get(key);
    if (!mark || mark.expiresAt <= Date.now() || mark.version < version) this.marks.set(key, { version, expiresAt: Date.now() + PUBLISHED_TTL_MS });
    if (this.marks.size > 10_000) for (const [k, m] of this.marks) if (m.expiresAt <= Date.now()) this.marks.delete(k);
    return Promise.resolve();
  }

  claimDue(nowMs: number, claimMs: number, limit: number): Promise<DuePartyRef[]> {
    const due: DuePartyRef[] = [];
    for (const entry of this.deadlines.values()) {
      if (due.length >= limit) break;
      if (entry.at > nowMs) continue;
      entry.at = nowMs + claimMs;
      due.push({ tenantId: entry.tenantId, projectId: entry.projectId, partyId: entry.partyId });
    }
    return Promise.resolve(due);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
