/**
 * The party ops on the realtime socket and the reads behind the REST route. Each op checks its input, then
 * changes the party through PartyChanges (read, decide, compare-and-set, events in version order).
 * Not visible means not found: a party the caller is not in (nor invited to, for party.get), an unknown
 * player and a blocked pair all answer `not-found`.
 */
import { projectScopeOf, type ProjectScope } from '../../http/auth-context.js';
import { conflict, forbidden, limitReached, notFound, validation } from '../../internal/errors/app-error.js';
import type { AuthApi } from '../auth/api.js';
import type { NotificationsApi } from '../notifications/api.js';
import { spendOpBudget, type OpRequest, type RealtimeApi, type SessionRef } from '../realtime/api.js';
import type { RateLimiter } from '../ratelimit/api.js';
import type { SocialApi } from '../social/api.js';
import type { ProjectSettingsSource } from '../tenancy/api.js';
import type { PartiesConfig } from './config.js';
import { createInputOf, dataInputOf, onlyFields, partyIdOf, playerIdOf } from './op-input.js';
import { isMember, liveInvites, memberView, newPartyId, viewOf, iso, type PartyDoc, type PartyView } from './party.js';
import { LEADER_EVENT, PRESENCE_EVENT, removal, type PartyChanges } from './party-changes.js';
import type { PartyStore } from './party-store.js';
import type { SessionParties } from './session-parties.js';

export const NO_PARTY = 'No such party.';
const NO_PLAYER = 'No such player in this project.';
export const INVITE_EVENT = 'party.invite';
export const DATA_EVENT = 'party.data';
const SECOND = 1_000;

export interface PartyServiceDeps {
  store: PartyStore;
  changes: PartyChanges;
  sessions: SessionParties;
  realtime: Pick<RealtimeApi, 'toPlayers' | 'online'>;
  social: Pick<SocialApi, 'blockedEither'>;
  players: AuthApi['players'];
  notifications: Pick<NotificationsApi, 'send'>;
  settings: ProjectSettingsSource;
  limiter: Pick<RateLimiter, 'take'>;
  config: PartiesConfig;
}

export interface Limits {
  dataPerSecond: number;
  inviteTtlMs: number;
  graceMs: number;
}

export class PartyService {
  constructor(private readonly deps: PartyServiceDeps) {}

  async limits(scope: ProjectScope): Promise<Limits> {
    const { limits } = await this.deps.settings.get(scope);
    const { config } = this.deps;
    return {
      dataPerSecond: limits['party_data_per_second'] ?? config.dataPerSecond,
      inviteTtlMs: (limits['party_invite_ttl_seconds'] ?? config.inviteTtlSeconds) * SECOND,
      graceMs: (limits['party_disconnect_grace_seconds'] ?? config.disconnectGraceSeconds) * SECOND,
    };
  }

  /** The party as clients see it: usernames, and who is connected now. */
  async view(scope: ProjectScope, party: PartyDoc): Promise<PartyView> {
    const ids = party.members.map((member) => member.player_id);
    const [found, online] = await Promise.all([this.deps.players.find(scope, ids), this.deps.realtime.online(scope, ids)]);
    const usernames = new Map([...found].map(([id, player]) => [id, player.username]));
    return viewOf(party, usernames, online, Date.now());
  }

  async create(session: SessionRef, request: OpRequest): Promise<Record<string, unknown>> {
    const input = createInputOf(request);
    const scope = projectScopeOf(session);
    if ((await this.deps.store.partyOf(scope, session.playerId)) !== undefined) throw conflict('The player is already in a party.');
    const id = newPartyId();
    const { party } = await this.deps.changes.apply(scope, id, async (current, now) => {
      if (current) throw conflict('The party id is taken; try again.');
      const created: PartyDoc = {
        id,
        leader_id: session.playerId,
        open: input.open,
        max_size: input.maxSize,
        label: input.label,
        members: [{ player_id: session.playerId, joined_at: now, offline_deadline: null }],
        invites: [],
        version: 1,
        rev: 0,
        created_at: now,
      };
      return { next: created, claim: [session.playerId], joined: [session.playerId] };
    });
    return { party: await this.view(scope, party!) };
  }

  async invite(session: SessionRef, request: OpRequest): Promise<void> {
    onlyFields(request, ['party_id', 'player_id']);
    const partyId = partyIdOf(request);
    const target = playerIdOf(request);
    const scope = projectScopeOf(session);
    const { inviteTtlMs } = await this.limits(scope);
    const [inviter, invitee] = await Promise.all([this.deps.players.get(scope, session.playerId), this.deps.players.get(scope, target)]);
    let expiresAt = 0;
    await this.deps.changes.apply(scope, partyId, async (party, now) => {
      if (!party || !isMember(party, session.playerId)) throw notFound(NO_PARTY);
      if (!party.open && party.leader_id !== session.playerId) throw forbidden('Only the leader invites to an invite-only party.');
      if (!invitee || (await this.deps.social.blockedEither(scope, session.playerId, target))) throw notFound(NO_PLAYER);
      if (isMember(party, target)) throw conflict('The player is already a member.');
      const others = liveInvites(party, now).filter((invite) => invite.player_id !== target);
      if (party.members.length + others.length >= party.max_size) throw limitReached('Members and live invites have reached the party size.', party.max_size);
      expiresAt = now + inviteTtlMs;
      const version = party.version + 1;
      const from = { player_id: session.playerId, username: inviter?.username ?? null };
      return {
        next: { ...party, invites: [...others, { player_id: target, expires_at: expiresAt, from: session.playerId }], version },
        events: [{ to: [target], event: { op: INVITE_EVENT, party_id: partyId, from, expires_at: iso(expiresAt) } }],
        after: async () => {
          await this.deps.notifications.send(scope, [
            {
              playerId: target,
              code: 'ggscale.party_invite',
              subject: `${inviter?.username ?? 'A player'} invited you to a party`,
              content: { party_id: partyId, from, expires_at: iso(expiresAt) },
              senderId: session.playerId,
              collapseKey: partyId,
            },
          ]);
        },
      };
    });
  }

  async join(session: SessionRef, request: OpRequest): Promise<Record<string, unknown>> {
    onlyFields(request, ['party_id']);
    const partyId = partyIdOf(request);
    const scope = projectScopeOf(session);
    const me = session.playerId;
    const { party } = await this.deps.changes.apply(scope, partyId, async (current, now) => {
      if (!current) throw notFound(NO_PARTY);
      if (isMember(current, me)) return null;
      const invited = liveInvites(current, now).some((invite) => invite.player_id === me);
      if (!current.open && !invited) throw notFound(NO_PARTY);
      if (current.members.length >= current.max_size) throw limitReached('The party is full.', current.max_size);
      const elsewhere = await this.deps.store.partyOf(scope, me);
      if (elsewhere !== undefined && elsewhere !== partyId) throw conflict('The player is already in another party.');
      const member = { player_id: me, joined_at: now, offline_deadline: null };
      const version = current.version + 1;
      const player = await this.deps.players.get(scope, me);
      const joins = [memberView(member, new Map([[me, player?.username ?? null]]), new Set([me]))];
      const members = [...current.members, member];
      return {
        next: { ...current, members, invites: current.invites.filter((invite) => invite.player_id !== me), version },
        claim: [me],
        joined: [me],
        events: [{ to: members.map((m) => m.player_id), event: { op: PRESENCE_EVENT, party_id: partyId, version, joins, leaves: [] } }],
      };
    });
    return { party: await this.view(scope, party!) };
  }

  async leave(session: SessionRef, request: OpRequest): Promise<void> {
    onlyFields(request, ['party_id']);
    const partyId = partyIdOf(request);
    const scope = projectScopeOf(session);
    await this.deps.changes.apply(scope, partyId, async (party) => {
      if (!party || !isMember(party, session.playerId)) throw notFound(NO_PARTY);
      return removal(party, [session.playerId], 'left', await this.onlineOf(scope, party));
    });
  }

  async kick(session: SessionRef, request: OpRequest): Promise<void> {
    onlyFields(request, ['party_id', 'player_id']);
    const partyId = partyIdOf(request);
    const target = playerIdOf(request);
    const scope = projectScopeOf(session);
    await this.deps.changes.apply(scope, partyId, async (party) => {
      this.assertLeader(party, session.playerId, target);
      if (target === session.playerId) throw validation('The leader leaves with party.leave, not party.kick.');
      return removal(party, [target], 'kicked', await this.onlineOf(scope, party));
    });
  }

  async promote(session: SessionRef, request: OpRequest): Promise<void> {
    onlyFields(request, ['party_id', 'player_id']);
    const partyId = partyIdOf(request);
    const target = playerIdOf(request);
    const scope = projectScopeOf(session);
    await this.deps.changes.apply(scope, partyId, async (party) => {
      this.assertLeader(party, session.playerId, target);
      if (target === session.playerId) return null;
      const version = party.version + 1;
      const to = party.members.map((member) => member.player_id);
      return {
        next: { ...party, leader_id: target, version },
        events: [{ to, event: { op: LEADER_EVENT, party_id: partyId, version, leader_id: target, reason: 'promoted' } }],
      };
    });
  }

  async data(session: SessionRef, request: OpRequest): Promise<void> {
    const partyId = partyIdOf(request);
    const input = dataInputOf(request);
    const scope = projectScopeOf(session);
    const party = await this.deps.store.get(scope, partyId);
    if (!party || !isMember(party, session.playerId)) throw notFound(NO_PARTY);
    await this.charge(scope, session.playerId);
    const others = party.members.map((member) => member.player_id).filter((id) => id !== session.playerId);
    if (others.length === 0) return;
    await this.deps.realtime.toPlayers(scope, others, { op: DATA_EVENT, party_id: partyId, sender_id: session.playerId, op_code: input.opCode, data: input.data });
  }

  async get(session: SessionRef, request: OpRequest): Promise<Record<string, unknown>> {
    onlyFields(request, ['party_id']);
    const partyId = partyIdOf(request);
    const scope = projectScopeOf(session);
    const party = await this.deps.store.get(scope, partyId);
    const now = Date.now();
    const visible = party && (isMember(party, session.playerId) || liveInvites(party, now).some((invite) => invite.player_id === session.playerId));
    if (!visible) throw notFound(NO_PARTY);
    return { party: await this.view(scope, party) };
  }

  /** GET /v1/parties/{party_id}: a secret key sees every party of its project, a player only its own. */
  async read(scope: ProjectScope, partyId: string, playerId: string | undefined): Promise<PartyView> {
    const party = await this.deps.store.get(scope, partyId);
    if (!party || (playerId !== undefined && !isMember(party, playerId))) throw notFound(NO_PARTY);
    return this.view(scope, party);
  }

  private assertLeader(party: PartyDoc | undefined, caller: string, target: string): asserts party is PartyDoc {
    if (!party || !isMember(party, caller)) throw notFound(NO_PARTY);
    if (party.leader_id !== caller) throw forbidden('Only the party leader may do this.');
    if (!isMember(party, target)) throw notFound('No such member in this party.');
  }

  private onlineOf(scope: ProjectScope, party: PartyDoc): Promise<Set<string>> {
    return this.deps.realtime.online(scope, party.members.map((member) => member.player_id));
  }

  /** PARTY_DATA_PER_SECOND per player, on the shared cache (the node's own while it is away). */
  private async charge(scope: ProjectScope, playerId: string): Promise<void> {
    const { dataPerSecond } = await this.limits(scope);
    await spendOpBudget(
      this.deps.limiter,
      { name: 'party-data', key: `{${scope.tenantId}}:${scope.projectId}:rl:party-data:${playerId}`, limit: dataPerSecond, windowMs: SECOND },
      'Too many party.data messages; retry after retry_after_ms.',
    );
  }
}
