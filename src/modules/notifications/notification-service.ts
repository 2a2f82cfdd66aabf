/**
 * The notifications' rules: sends from the studio's servers (REST, with Idempotency-Key) and from other
 * modules (the api, in their own transaction or in one of ours), the listing with its cursors, deletes.
 * Every player a send names must be a player of the project, or nothing is sent.
 */
import { randomBytes } from 'node:crypto';
import type { ProjectScope } from '../../http/auth-context.js';
import type { Database, Queryable } from '../../internal/db/database.js';
import { AppError, notFound, validation } from '../../internal/errors/app-error.js';
import type { AuthApi } from '../auth/api.js';
import { stillInProgress, type IdempotencyApi, type IdempotencyTicket } from '../idempotency/api.js';
import type { ProjectSettingsSource } from '../tenancy/api.js';
import { GGSCALE_CODE_PREFIX, type NewNotification, type Notification, type NotificationsApi, type SentNotification } from './api.js';
import type { NotificationsConfig } from './config.js';
import { checkNotification } from './new-notification.js';
import type { NotificationStore } from './notification-store.js';
import { storedView } from './notification-view.js';

/** A send over REST, as the route's schema let it through. */
export interface ServerSend {
  player_ids: string[];
  code: string;
  subject: string;
  content: Record<string, unknown>;
  persistent?: boolean;
  collapse_key?: string;
}

export interface SendAnswer {
  items: { player_id: string; id: string }[];
}

export interface NotificationPage {
  items: Notification[];
  /** The id the next page starts after, when there may be more. */
  nextAfter: string | null;
  /** The id after everything the player was shown: later, only what was created since. */
  cacheableAfter: string;
}

export interface NotificationServiceDeps {
  db: Database;
  store: NotificationStore;
  players: AuthApi['players'];
  settings: ProjectSettingsSource;
  idempotency: IdempotencyApi;
  config: NotificationsConfig;
  /** Live delivery after the commit. */
  deliver: (scope: ProjectScope, sent: readonly SentNotification[]) => Promise<void>;
}

/** The most missing ids a 404 names. */
const MISSING_IDS_SHOWN = 100;
/** The player directory's bound per lookup. */
const LOOKUP_CHUNK = 1000;
const STORED_ID = /^[1-9][0-9]{0,17}$/;

/** A non-persistent notification's id: never a decimal, so it cannot be taken for a stored one. */
const liveId = () => `live_${randomBytes(12).toString('hex')}`;

export class NotificationService implements NotificationsApi {
  constructor(private readonly deps: NotificationServiceDeps) {}

  async store(tx: Queryable, scope: ProjectScope, items: readonly NewNotification[]): Promise<() => Promise<void>> {
    return (await this.storeIn(tx, scope, items)).deliver;
  }

  async send(scope: ProjectScope, items: readonly NewNotification[]): Promise<SentNotification[]> {
    const written = await this.deps.db.withTenant(scope, (tx) => this.storeIn(tx, scope, items));
    await written.deliver();
    return written.sent;
  }

  /** A send from the studio's server: `replayed` when an Idempotency-Key answered it (nothing was sent). */
  async sendFromServer(scope: ProjectScope, body: ServerSend, idempotencyKey: string | undefined): Promise<{ answer: SendAnswer; replayed: boolean }> {
    if (body.code.startsWith(GGSCALE_CODE_PREFIX)) throw validation(`Codes starting with "${GGSCALE_CODE_PREFIX}" are ggscale's own.`);
    const persistent = body.persistent ?? true;
    const collapseKey = body.collapse_key ?? null;
    const items = body.player_ids.map(
      (playerId): NewNotification => ({ playerId, code: body.code, subject: body.subject, content: body.content, senderId: null, persistent, collapseKey }),
    );
    // Bad input is refused before a key is claimed (the items differ only in their player).
    checkNotification(items[0]!);
    const request = { player_ids: body.player_ids, code: body.code, subject: body.subject, content: body.content, persistent, collapse_key: collapseKey };

    const outcome = await this.deps.db.withTenant(scope, async (tx) => {
      let ticket: IdempotencyTicket | undefined;
      if (idempotencyKey !== undefined) {
        const claim = await this.deps.idempotency.claim<SendAnswer>(tx, scope, { operation: 'notifications.send', caller: 'secret', key: idempotencyKey, request });
        if (claim.status === 'replay') return { answer: claim.answer, deliver: undefined };
        // Claims and sends commit together: a first request still running holds the claim's row lock.
        if (claim.status === 'in-progress') throw stillInProgress();
        ticket = claim.ticket;
      }
      const written = await this.storeIn(tx, scope, items);
      const answer: SendAnswer = { items: written.sent.map(({ playerId, notification }) => ({ player_id: playerId, id: notification.id })) };
      if (ticket) await this.deps.idempotency.store(tx, ticket, answer);
      return { answer, deliver: written.deliver };
    });
    if (!outcome.deliver) return { answer: outcome.answer, replayed: true };
    await outcome.deliver();
    return { answer: outcome.answer, replayed: false };
  }

  async list(scope: ProjectScope, playerId: string, after: string, limit: number): Promise<NotificationPage> {
    await this.requirePlayer(scope, playerId);
    const rows = await this.deps.store.list(scope, playerId, after, limit + 1);
    const items = rows.slice(0, limit).map(storedView);
    const last = items.at(-1)?.id;
    return {
      items,
      nextAfter: rows.length > limit ? last! : null,
      // An empty page: nothing after `after` exists now, and a player's later ids are all greater.
      cacheableAfter: last ?? after,
    };
  }

  async remove(scope: ProjectScope, playerId: string, id: string): Promise<void> {
    await this.requirePlayer(scope, playerId);
    // A non-persistent notification's id names nothing stored.
    if (!STORED_ID.test(id) || !(await this.deps.store.remove(scope, playerId, id))) throw notFound('No such notification.');
  }

  private async storeIn(tx: Queryable, scope: ProjectScope, items: readonly NewNotification[]): Promise<{ sent: SentNotification[]; deliver: () => Promise<void> }> {
    const checked = items.map(checkNotification);
    await this.requirePlayers(tx, scope, checked.map((item) => item.playerId));
    const persistent = checked.filter((item) => item.persistent);
    const written = persistent.length > 0 ? await this.deps.store.write(tx, scope, persistent, await this.maxPerPlayer(scope, tx)) : [];
    const now = new Date().toISOString();
    let next = 0;
    const sent = checked.map((item): SentNotification => {
      const stored = item.persistent ? written[next++]! : undefined;
      return {
        playerId: item.playerId,
        notification: {
          id: stored?.id ?? liveId(),
          code: item.code,
          subject: item.subject,
          content: item.content,
          sender_id: item.senderId,
          persistent: item.persistent,
          collapse_key: item.collapseKey,
          created_at: stored ? stored.createdAt.toISOString() : now,
        },
      };
    });
    return { sent, deliver: () => this.deps.deliver(scope, sent) };
  }

  private async maxPerPlayer(scope: ProjectScope, tx: Queryable): Promise<number> {
    const settings = await this.deps.settings.get(scope, tx);
    return settings.limits['notifications_max_per_player'] ?? this.deps.config.maxPerPlayer;
  }

  private async requirePlayer(scope: ProjectScope, playerId: string): Promise<void> {
    if (!(await this.deps.players.get(scope, playerId))) throw notFound('No such player in this project.');
  }

  /** 404 naming (up to 100 of) the ids that are not players of the project. */
  private async requirePlayers(tx: Queryable, scope: ProjectScope, ids: readonly string[]): Promise<void> {
    const unique = [...new Set(ids)];
    const missing: string[] = [];
    for (let start = 0; start < unique.length; start += LOOKUP_CHUNK) {
      const chunk = unique.slice(start, start + LOOKUP_CHUNK);
      const found = await this.deps.players.find(scope, chunk, tx);
      missing.push(...chunk.filter((id) => !found.has(id)));
    }
    if (missing.length > 0) {
      throw new AppError('not-found', `${missing.length} of the player ids are not players of this project; nothing was sent.`, {
        extensions: { player_ids: missing.slice(0, MISSING_IDS_SHOWN) },
      });
    }
  }
}
