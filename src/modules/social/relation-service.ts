/**
 * The social graph's changes: friend requests (a mutual one accepts), accepts, declines, removals, blocks and
 * unblocks. Each runs in one transaction that locks both players (relation-store.ts), reads both rows, applies
 * the rule and stores ggscale's notifications in the same transaction. After the commit: the notifications
 * are delivered, the other player's connections get a `friend` event when its view of the acting player
 * changed, and the relation listeners are told.
 *
 * Not visible means not found: a player who blocked the acting player answers exactly as an unknown player,
 * and routes about an existing relation answer one 404 whether the player is unknown or simply unrelated.
 */
import type { ProjectScope } from '../../http/auth-context.js';
import type { Database, Queryable } from '../../internal/db/database.js';
import { conflict, limitReached, notFound, validation } from '../../internal/errors/app-error.js';
import type { Logger } from '../../internal/telemetry/logger.js';
import type { AuthApi, PlayerSummary } from '../auth/api.js';
import type { NewNotification, NotificationsApi } from '../notifications/api.js';
import type { RealtimeApi } from '../realtime/api.js';
import { RELATION_SIGNAL } from './api.js';
import type { ProjectSettingsSource } from '../tenancy/api.js';
import type { RelationListener, RelationState, RelationView } from './api.js';
import type { SocialConfig } from './config.js';
import type { OwnCounts, RelationRow, RelationStore } from './relation-store.js';
import type { RelationJson, RelationViews } from './relation-view.js';

export const NO_SUCH_PLAYER = 'No such player in this project.';

export interface SocialDeps {
  db: Database;
  store: RelationStore;
  views: RelationViews;
  players: AuthApi['players'];
  settings: ProjectSettingsSource;
  notifications: NotificationsApi;
  realtime: RealtimeApi;
  config: SocialConfig;
  logger: Logger;
}

/** A request names its target by id or by username (the route checks it names exactly one). */
export type RequestTarget = { playerId: string } | { username: string };

export interface Limits {
  friendsMax: number;
  pendingMax: number;
  blocksMax: number;
}

/** One change in progress: both rows of the pair as they stand, and what to send after the commit. */
class PairChange {
  readonly notes: NewNotification[] = [];

  constructor(
    readonly tx: Queryable,
    readonly scope: ProjectScope,
    readonly actor: PlayerSummary,
    /** Undefined when the other id is not a player of the project. */
    readonly other: PlayerSummary | undefined,
    readonly otherId: string,
    private readonly store: RelationStore,
    /** The acting player's row about the other, and the other's row about the acting player. */
    public ab: RelationRow | undefined,
    public ba: RelationRow | undefined,
  ) {}

  counts(): Promise<OwnCounts> {
    return this.store.countsIn(this.tx, this.actor.id);
  }

  otherCounts(): Promise<OwnCounts> {
    return this.store.countsIn(this.tx, this.otherId);
  }

  async set(ab: RelationState | null, ba?: RelationState | null): Promise<void> {
    if (ab === null) await this.store.removeIn(this.tx, this.actor.id, this.otherId);
    else this.ab = await this.store.setIn(this.tx, this.scope, this.actor.id, this.otherId, ab);
    if (ab === null) this.ab = undefined;
    if (ba === undefined) return;
    if (ba === null) await this.store.removeIn(this.tx, this.otherId, this.actor.id);
    else this.ba = await this.store.setIn(this.tx, this.scope, this.otherId, this.actor.id, ba);
    if (ba === null) this.ba = undefined;
  }

  notify(code: 'ggscale.friend_request' | 'ggscale.friend_accepted', subject: string, collapseKey: string | null): void {
    this.notes.push({
      playerId: this.otherId,
      code,
      subject,
      content: { player_id: this.actor.id, username: this.actor.username },
      senderId: this.actor.id,
      collapseKey,
    });
  }
}

const viewOf = (row: RelationRow | undefined): RelationView => row?.state ?? 'none';

export class RelationService {
  private readonly listeners: RelationListener[] = [];

  constructor(private readonly deps: SocialDeps) {}

  onRelationChanged(listener: RelationListener): void {
    this.listeners.push(listener);
  }

  async limits(scope: ProjectScope): Promise<Limits> {
    const { limits } = await this.deps.settings.get(scope);
    const { config } = this.deps;
    return {
      friendsMax: limits['friends_max'] ?? config.friendsMax,
      pendingMax: limits['friend_requests_pending_max'] ?? config.friendRequestsPendingMax,
      blocksMax: limits['blocks_max'] ?? config.blocksMax,
    };
  }

  /** `charge` pays the acting player's hourly request budget (429 when it is spent). */
  async request(scope: ProjectScope, actor: string, target: RequestTarget, charge: () => void | Promise<void>): Promise<{ created: boolean; relation: RelationJson }> {
    if ('playerId' in target && target.playerId === actor) throw validation('A player cannot send a friend request to itself.');
    await charge();
    let otherId: string;
    if ('playerId' in target) otherId = target.playerId;
    else {
      const found = await this.deps.players.byUsername(scope, target.username);
      if (!found) throw notFound(NO_SUCH_PLAYER);
      otherId = found.id;
      if (otherId === actor) throw validation('A player cannot send a friend request to itself.');
    }
    const limits = await this.limits(scope);
    let created = false;
    const done = await this.change(scope, actor, otherId, async (pair) => {
      // A player who blocked the acting player looks exactly like an unknown one.
      if (!pair.other || pair.ba?.state === 'blocked') throw notFound(NO_SUCH_PLAYER);
      const state = pair.ab?.state;
      if (state === 'blocked') throw conflict('You blocked this player: unblock them before sending a friend request.');
      if (state === 'friend' || state === 'invite_sent') return pair.ab!;
      if (state === 'invite_received') return this.acceptIn(pair, limits);
      const [mine, theirs] = [await pair.counts(), await pair.otherCounts()];
      if (mine.friendsAndSent >= limits.friendsMax) {
        throw limitReached(`You hold ${limits.friendsMax} friends and sent requests together, the most allowed.`, limits.friendsMax);
      }
      if (theirs.received >= limits.pendingMax) {
        throw limitReached(`That player has ${limits.pendingMax} friend requests waiting, the most allowed.`, limits.pendingMax);
      }
      await pair.set('invite_sent', 'invite_received');
      pair.notify('ggscale.friend_request', 'You have a new friend request', pair.actor.id);
      created = true;
      return pair.ab!;
    });
    return { created, relation: await this.render(scope, done) };
  }

  async accept(scope: ProjectScope, actor: string, otherId: string): Promise<RelationJson> {
    const limits = await this.limits(scope);
    const done = await this.change(scope, actor, otherId, async (pair) => {
      if (pair.ab?.state !== 'invite_received') throw notFound('No friend request from that player.');
      return this.acceptIn(pair, limits);
    });
    return this.render(scope, done);
  }

  async decline(scope: ProjectScope, actor: string, otherId: string): Promise<void> {
    await this.change(scope, actor, otherId, async (pair) => {
      if (pair.ab?.state !== 'invite_received') throw notFound('No friend request from that player.');
      await pair.set(null, null);
    });
  }

  /** Ends a friendship, withdraws a sent request or declines a received one. */
  async remove(scope: ProjectScope, actor: string, otherId: string): Promise<void> {
    await this.change(scope, actor, otherId, async (pair) => {
      const state = pair.ab?.state;
      if (state === undefined || state === 'blocked') throw notFound('No friendship or friend request with that player.');
      await pair.set(null, pair.ba?.state === 'blocked' ? undefined : null);
    });
  }

  async block(scope: ProjectScope, actor: string, otherId: string): Promise<RelationJson> {
    if (otherId === actor) throw validation('A player cannot block itself.');
    const limits = await this.limits(scope);
    const done = await this.change(scope, actor, otherId, async (pair) => {
      if (!pair.other) throw notFound(NO_SUCH_PLAYER);
      if (pair.ab?.state === 'blocked') return pair.ab;
      const { blocked } = await pair.counts();
      if (blocked >= limits.blocksMax) throw limitReached(`You have blocked ${limits.blocksMax} players, the most allowed.`, limits.blocksMax);
      // Ends any friendship or request both ways; the other player's own block of this one stays.
      await pair.set('blocked', pair.ba === undefined || pair.ba.state === 'blocked' ? undefined : null);
      return pair.ab!;
    });
    return this.render(scope, done);
  }

  async unblock(scope: ProjectScope, actor: string, otherId: string): Promise<void> {
    await this.change(scope, actor, otherId, async (pair) => {
      if (pair.ab?.state !== 'blocked') throw notFound('That player is not blocked.');
      await pair.set(null);
    });
  }

  private async acceptIn(pair: PairChange, limits: Limits): Promise<RelationRow> {
    const { friendsAndSent } = await pair.counts();
    if (friendsAndSent >= limits.friendsMax) {
      throw limitReached(`You hold ${limits.friendsMax} friends and sent requests together, the most allowed.`, limits.friendsMax);
    }
    await pair.set('friend', 'friend');
    pair.notify('ggscale.friend_accepted', 'Your friend request was accepted', null);
    return pair.ab!;
  }

  /**
   * Runs `decide` on the locked pair in one transaction; after the commit, delivers what it stored and tells
   * the other player and the listeners what changed. Answers what `decide` answered, and the pair's players.
   */
  private async change<T>(
    scope: ProjectScope,
    actorId: string,
    otherId: string,
    decide: (pair: PairChange) => Promise<T>,
  ): Promise<{ result: T; players: ReadonlyMap<string, PlayerSummary> }> {
    const { db, store } = this.deps;
    const outcome = await db.withTenant(scope, async (tx) => {
      await store.lockPlayers(tx, actorId, otherId);
      const players = await this.deps.players.find(scope, [actorId, otherId], tx);
      const actor = players.get(actorId);
      if (!actor) throw notFound(NO_SUCH_PLAYER);
      const ab = await store.rowIn(tx, actorId, otherId);
      const ba = await store.rowIn(tx, otherId, actorId);
      const pair = new PairChange(tx, scope, actor, players.get(otherId), otherId, store, ab, ba);
      const result = await decide(pair);
      const deliver = pair.notes.length > 0 ? await this.deps.notifications.store(tx, scope, pair.notes) : undefined;
      return {
        result,
        players,
        actor,
        changed: viewOf(ab) !== viewOf(pair.ab) || viewOf(ba) !== viewOf(pair.ba),
        otherSaw: viewOf(ba),
        otherSees: viewOf(pair.ba),
        deliver,
      };
    });
    await this.afterCommit(scope, outcome.actor, otherId, outcome);
    return { result: outcome.result, players: outcome.players };
  }

  private async render(scope: ProjectScope, done: { result: RelationRow; players: ReadonlyMap<string, PlayerSummary> }): Promise<RelationJson> {
    const [relation] = await this.deps.views.render(scope, [done.result], done.players);
    return relation!;
  }

  private async afterCommit(
    scope: ProjectScope,
    actor: PlayerSummary,
    otherId: string,
    what: { changed: boolean; otherSaw: RelationView; otherSees: RelationView; deliver: (() => Promise<void>) | undefined },
  ): Promise<void> {
    const { logger } = this.deps;
    if (what.deliver) await what.deliver().catch((error: unknown) => logger.warn({ err: error }, 'social: notification delivery failed'));
    if (what.otherSaw !== what.otherSees) {
      await this.deps.realtime
        .toPlayers(scope, [otherId], { op: 'friend', player: { id: actor.id, username: actor.username }, state: what.otherSees })
        .catch((error: unknown) => logger.warn({ err: error, player_id: otherId }, 'social: friend event failed'));
    }
    if (!what.changed) return;
    // The nodes holding either player's sessions hear it too (presence subscriptions, chat's block lists).
    await this.deps.realtime
      .signal(scope, [actor.id, otherId], { type: RELATION_SIGNAL, a: actor.id, b: otherId })
      .catch((error: unknown) => logger.warn({ err: error }, 'social: the relation signal failed'));
    for (const listener of this.listeners) {
      try {
        await listener(scope, actor.id, otherId);
      } catch (error) {
        logger.warn({ err: error }, 'social: a relation listener failed');
      }
    }
  }
}
