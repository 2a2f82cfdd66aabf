/**
 * How a party changes: read it, decide (the rules, in party-service.ts), write it back with a
 * compare-and-set on its rev, and start again on a lost race. After the write: the change's events go out
 * in version order (a node waits, briefly, until the events of the version before have been sent by
 * whichever node made it), the members' sessions are told to re-read their party (the `resumed` frame's
 * party_id), players who left leave the party's chat channel, and the change listeners are told.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ProjectScope } from '../../http/auth-context.js';
import { conflict, unavailable } from '../../internal/errors/app-error.js';
import type { Logger } from '../../internal/telemetry/logger.js';
import type { RealtimeApi, RealtimeEvent } from '../realtime/api.js';
import type { PartyChangeListener } from './api.js';
import { nextLeader, type PartyDoc, type StoredMember } from './party.js';
import type { PartyStore } from './party-store.js';

/** Sent to a player's sessions after its party changed: each re-reads its party id. */
export const PARTY_SIGNAL = 'parties.member';
export const PRESENCE_EVENT = 'party.presence';
export const LEADER_EVENT = 'party.leader';

export type LeaveReason = 'left' | 'kicked' | 'disconnected';

export interface Outgoing {
  to: readonly string[];
  event: RealtimeEvent;
}

export interface Decision {
  /** The party after the change (null: it closes). Its rev is set by apply(). */
  next: PartyDoc | null;
  claim?: readonly string[];
  release?: readonly string[];
  /** Sent in order after the commit, in the party's version order. */
  events?: readonly Outgoing[];
  joined?: readonly string[];
  left?: readonly string[];
  /** Runs after the events (notifications). */
  after?: () => Promise<void>;
}

/** Decides the change from the party as it stands (undefined: none); null writes nothing. */
export type Decide = (party: PartyDoc | undefined, now: number) => Promise<Decision | null>;

const ATTEMPTS = 50;
/** How long a node waits for the events of the version before its own (their node may have died). */
const TURN_WAIT_MS = 1_000;

export interface Applied {
  /** The party as read (no write) or as written (null: closed). */
  party: PartyDoc | null | undefined;
  written: boolean;
}

export class PartyChanges {
  private readonly listeners: PartyChangeListener[] = [];

  constructor(
    private readonly store: PartyStore,
    private readonly realtime: Pick<RealtimeApi, 'toPlayers' | 'signal'>,
    private readonly logger: Logger,
    private readonly leaveChannel: (scope: ProjectScope, channel: string, playerId: string) => Promise<void>,
  ) {}

  onChanged(listener: PartyChangeListener): void {
    this.listeners.push(listener);
  }

  async apply(scope: ProjectScope, partyId: string, decide: Decide): Promise<Applied> {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const party = await this.store.get(scope, partyId);
      const decision = await decide(party, Date.now());
      if (decision === null) return { party, written: false };
      const next = decision.next === null ? null : { ...decision.next, rev: (party?.rev ?? 0) + 1 };
      const outcome = await this.store.commit(scope, {
        id: partyId,
        expectedRev: party?.rev ?? null,
        next,
        claim: decision.claim ?? [],
        release: decision.release ?? [],
      });
      if (outcome === 'taken') throw conflict('The player is already in another party.');
      if (outcome === 'stale') {
        if (attempt > 2) await sleep(Math.floor(Math.random() * 5 * Math.min(attempt, 10)));
        continue;
      }
      await this.afterCommit(scope, partyId, party, next, decision);
      return { party: next, written: true };
    }
    throw unavailable('The party is changing too fast; try again shortly.', 1);
  }

  private async afterCommit(scope: ProjectScope, partyId: string, before: PartyDoc | undefined, after: PartyDoc | null, decision: Decision): Promise<void> {
    const previous = before?.version ?? 0;
    const version = after ? after.version : previous + 1;
    if (version > previous) await this.inOrder(scope, partyId, version, decision.events ?? []);
    const joined = decision.joined ?? [];
    const left = decision.left ?? [];
    if (joined.length + left.length > 0) {
      await this.realtime.signal(scope, [...joined, ...left], { type: PARTY_SIGNAL }).catch((error: unknown) => this.warn(error, 'signalling members'));
      for (const player of left) {
        await this.leaveChannel(scope, `party:${partyId}`, player).catch((error: unknown) => this.warn(error, 'leaving the party channel'));
      }
      for (const listener of this.listeners) {
        try {
          await listener(scope, { partyId, joined, left, closed: after === null });
        } catch (error) {
          this.warn(error, 'a party-change listener');
        }
      }
    }
    await decision.after?.().catch((error: unknown) => this.warn(error, 'after a change'));
  }

  /** Sends a version's events once the version before has been sent (or its node has had its chance). */
  private async inOrder(scope: ProjectScope, partyId: string, version: number, events: readonly Outgoing[]): Promise<void> {
    const deadline = Date.now() + TURN_WAIT_MS;
    try {
      while ((await this.store.published(scope, partyId)) < version - 1 && Date.now() < deadline) await sleep(2);
      for (const { to, event } of events) if (to.length > 0) await this.realtime.toPlayers(scope, to, event);
    } catch (error) {
      this.warn(error, 'sending party events');
    } finally {
      await this.store.markPublished(scope, partyId, version).catch((error: unknown) => this.warn(error, 'marking events sent'));
    }
  }

  private warn(error: unknown, what: string): void {
    this.logger.warn({ err: error }, `parties: ${what} failed`);
  }
}

/**
 * Removes members (one change, one version): the leave event to the remaining members and those leaving,
 * and a new leader (the leave's reason; `left` for a kick, which never removes the leader) when the leader
 * went and someone remains.
 */
export function removal(party: PartyDoc, removed: readonly string[], reason: LeaveReason, online: ReadonlySet<string>): Decision {
  const remaining: StoredMember[] = party.members.filter((member) => !removed.includes(member.player_id));
  const version = party.version + 1;
  const everyone = party.members.map((member) => member.player_id);
  const events: Outgoing[] = [
    {
      to: everyone,
      event: { op: PRESENCE_EVENT, party_id: party.id, version, joins: [], leaves: removed.map((id) => ({ player_id: id, reason })) },
    },
  ];
  if (remaining.length === 0) return { next: null, release: removed, events, left: removed };
  let leader = party.leader_id;
  if (removed.includes(leader)) {
    leader = nextLeader(remaining, online)!;
    events.push({ to: everyone, event: { op: LEADER_EVENT, party_id: party.id, version, leader_id: leader, reason: reason === 'kicked' ? 'left' : reason } });
  }
  return { next: { ...party, members: remaining, leader_id: leader, version }, release: removed, events, left: removed };
}
