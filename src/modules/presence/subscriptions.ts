/**
 * presence.subscribe and presence.unsubscribe: a session follows players it may see (friends, and whoever an
 * audience allows: party members, members of a channel it joined) by joining their presence topics. A
 * subscription belongs to its session (it survives a resume) and ends silently when the relation that allowed
 * it ends: a relation or audience signal makes the session check its subscriptions again.
 */
import type { ProjectScope } from '../../http/auth-context.js';
import { AppError, limitReached } from '../../internal/errors/app-error.js';
import type { RealtimeApi, SessionRef } from '../realtime/api.js';
import type { SocialApi } from '../social/api.js';
import { presenceTopic, type PresenceService } from './presence-service.js';
import type { Presence } from './api.js';

const STATE = 'presence.subscriptions';

export class PresenceSubscriptions {
  constructor(
    private readonly realtime: RealtimeApi,
    private readonly social: SocialApi,
    private readonly service: PresenceService,
  ) {}

  of(session: SessionRef): string[] {
    return this.realtime.sessionState<string[]>(session, STATE) ?? [];
  }

  /** Subscribes to all of them or to none: `not-found` names the ids the session may not follow. */
  async subscribe(session: SessionRef, playerIds: readonly string[], max: number): Promise<Presence[]> {
    const ids = [...new Set(playerIds)];
    const allowed = await this.followable(session, ids);
    const refused = ids.filter((id) => !allowed.has(id));
    if (refused.length > 0) {
      throw new AppError('not-found', 'Some of these players cannot be followed: they are not friends, party members or members of a channel you joined.', {
        extensions: { player_ids: refused },
      });
    }
    const current = this.of(session);
    const added = ids.filter((id) => !current.includes(id));
    if (current.length + added.length > max) throw limitReached(`A connection may follow at most ${max} players.`, max);
    this.realtime.setSessionState(session, STATE, [...current, ...added]);
    await Promise.all(added.map((id) => this.realtime.joinTopic(session, presenceTopic(session, id))));
    const presences = await this.service.presences(session, ids);
    return ids.map((id) => presences.get(id)!).filter(Boolean);
  }

  unsubscribe(session: SessionRef, playerIds: readonly string[]): void {
    const drop = new Set(playerIds);
    const current = this.of(session);
    for (const id of current) if (drop.has(id)) this.realtime.leaveTopic(session, presenceTopic(session, id));
    this.realtime.setSessionState(session, STATE, current.filter((id) => !drop.has(id)));
  }

  /** Ends the subscriptions whose relation is gone (after a relation or audience change). */
  async recheck(session: SessionRef): Promise<void> {
    const current = this.of(session);
    if (current.length === 0) return;
    const allowed = await this.followable(session, current);
    const gone = current.filter((id) => !allowed.has(id));
    if (gone.length > 0) this.unsubscribe(session, gone);
  }

  /** Of these ids, the players this session may follow: a friend or an audience's, never across a block. */
  private async followable(session: SessionRef, ids: readonly string[]): Promise<Set<string>> {
    const scope: ProjectScope = { tenantId: session.tenantId, projectId: session.projectId };
    const [friends, blocked, ...others] = await Promise.all([
      this.social.friendIds(scope, session.playerId),
      this.service.blockedAround(scope, session.playerId),
      ...this.service.audiences.map((audience) => audience.followable(session, ids)),
    ]);
    const friendSet = new Set(friends);
    return new Set(ids.filter((id) => id !== session.playerId && !blocked.has(id) && (friendSet.has(id) || others.some((set) => set.has(id)))));
  }
}
