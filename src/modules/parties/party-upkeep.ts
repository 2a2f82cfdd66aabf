/**
 * What changes parties without a party op: a member going offline (a disconnect deadline, kept in the store,
 * so any node may act on it), coming back (the deadline cleared), staying away past its grace (it leaves with
 * reason `disconnected`; the sweeper below runs on every node and claims each due party in the store, so one
 * node handles it even when the node that saw the disconnect is gone), and a block between two players
 * (pending invites between them end, both ways).
 */
import type { ProjectScope } from '../../http/auth-context.js';
import { PeriodicJob } from '../../internal/jobs/periodic-job.js';
import type { Logger } from '../../internal/telemetry/logger.js';
import type { RealtimeApi } from '../realtime/api.js';
import type { SocialApi } from '../social/api.js';
import type { PartyDoc, StoredMember } from './party.js';
import { removal, type PartyChanges } from './party-changes.js';
import type { PartyService } from './party-service.js';
import type { PartyStore } from './party-store.js';

/** How long a sweeper's claim on a due party holds (if its node dies, another takes it after this). */
const CLAIM_MS = 10_000;
const PARTIES_PER_PASS = 100;

export class PartyUpkeep {
  constructor(
    private readonly store: PartyStore,
    private readonly changes: PartyChanges,
    private readonly service: Pick<PartyService, 'limits'>,
    private readonly realtime: Pick<RealtimeApi, 'online'>,
    private readonly social: Pick<SocialApi, 'blockedEither'>,
  ) {}

  /** The player's last session ended: its grace starts. */
  async offline(scope: ProjectScope, playerId: string): Promise<void> {
    const partyId = await this.store.partyOf(scope, playerId);
    if (partyId === undefined) return;
    const { graceMs } = await this.service.limits(scope);
    await this.changes.apply(scope, partyId, async (party, now) => {
      const member = party?.members.find((m) => m.player_id === playerId);
      if (!party || !member || member.offline_deadline !== null) return null;
      if ((await this.realtime.online(scope, [playerId])).has(playerId)) return null;
      return { next: withDeadlines(party, (m) => (m.player_id === playerId ? now + graceMs : m.offline_deadline)) };
    });
  }

  /** The player has a session again: its grace is over. */
  async online(scope: ProjectScope, playerId: string): Promise<void> {
    const partyId = await this.store.partyOf(scope, playerId);
    if (partyId === undefined) return;
    await this.changes.apply(scope, partyId, async (party) => {
      const member = party?.members.find((m) => m.player_id === playerId);
      if (!party || !member || member.offline_deadline === null) return null;
      return { next: withDeadlines(party, (m) => (m.player_id === playerId ? null : m.offline_deadline)) };
    });
  }

  /** Members past their deadline leave (disconnected) unless they are online again; others keep theirs. */
  async settle(scope: ProjectScope, partyId: string): Promise<void> {
    await this.changes.apply(scope, partyId, async (party, now) => {
      if (!party) return null;
      const due = party.members.filter((m) => m.offline_deadline !== null && m.offline_deadline <= now).map((m) => m.player_id);
      const online = await this.realtime.online(scope, party.members.map((m) => m.player_id));
      const back = due.filter((id) => online.has(id));
      const gone = due.filter((id) => !online.has(id));
      // Written even when nothing is due: the write puts the party's real deadline back in the index.
      const kept = withDeadlines(party, (m) => (back.includes(m.player_id) ? null : m.offline_deadline));
      return gone.length === 0 ? { next: kept } : removal(kept, gone, 'disconnected', online);
    });
  }

  /** After a relation change: when either player now blocks the other, invites between them end. */
  async relationChanged(scope: ProjectScope, a: string, b: string): Promise<void> {
    if (!(await this.social.blockedEither(scope, a, b))) return;
    for (const [member, invitee] of [
      [a, b],
      [b, a],
    ] as const) {
      const partyId = await this.store.partyOf(scope, member);
      if (partyId === undefined) continue;
      await this.changes.apply(scope, partyId, async (party) => {
        if (!party?.invites.some((invite) => invite.player_id === invitee)) return null;
        return { next: { ...party, invites: party.invites.filter((invite) => invite.player_id !== invitee), version: party.version + 1 } };
      });
    }
  }
}

function withDeadlines(party: PartyDoc, deadline: (member: StoredMember) => number | null): PartyDoc {
  return { ...party, members: party.members.map((member) => ({ ...member, offline_deadline: deadline(member) })) };
}

/** Every node's sweeper: claims the parties with a due deadline and settles them. */
export class DisconnectSweeper extends PeriodicJob {
  constructor(
    private readonly store: PartyStore,
    private readonly upkeep: PartyUpkeep,
    logger: Logger,
    intervalMs: number,
  ) {
    super('parties.disconnect-sweeper', intervalMs, logger);
  }

  async pass(): Promise<number> {
    const due = await this.store.claimDue(Date.now(), CLAIM_MS, PARTIES_PER_PASS);
    for (const ref of due) {
      await this.upkeep.settle({ tenantId: ref.tenantId, projectId: ref.projectId }, ref.partyId).catch((error: unknown) =>
        this.logger.warn({ err: error }, 'parties: settling a disconnect failed'),
      );
    }
    return due.length;
  }
}
