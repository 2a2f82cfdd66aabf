/**
 * Notifications on the realtime socket: each one reaches every connection of its player as soon as it is
 * committed (at most once: realtime's fan-out), and a new session is sent, right after its welcome, the
 * stored ones no session was sent on connect yet (marked delivered only after they were handed to the
 * socket; `send` cannot tell whether the socket was still open, so the listing stays the record). A live
 * send does not mark a row delivered, so a player who was connected gets it again on its next connect;
 * clients dedupe by id.
 */
import { projectScopeOf, type ProjectScope } from '../../http/auth-context.js';
import type { Logger } from '../../internal/telemetry/logger.js';
import type { RealtimeApi, RealtimeEvent, SessionRef } from '../realtime/api.js';
import type { SentNotification } from './api.js';
import type { NotificationStore } from './notification-store.js';
import { storedView } from './notification-view.js';

/** Players published to at once: a send to 1,000 players does not open 1,000 publishes together. */
const DELIVERY_CONCURRENCY = 32;

export class LiveNotifications {
  private realtime: RealtimeApi | undefined;

  constructor(
    private readonly store: NotificationStore,
    /** NOTIFICATIONS_ON_CONNECT. */
    private readonly onConnect: number,
    private readonly logger: Logger,
  ) {}

  /** Registers the on-connect delivery and the welcome's `notifications_pending` with realtime. */
  attach(realtime: RealtimeApi): void {
    this.realtime = realtime;
    realtime.onSessionStart((session, send) => this.sendPending(session, send));
    realtime.welcomeField('notifications_pending', (session) => this.store.countUndelivered(projectScopeOf(session), session.playerId));
  }

  /** Publishes each notification to its player's connections; a failure is logged (the stored ones come on connect). */
  async deliver(scope: ProjectScope, sent: readonly SentNotification[]): Promise<void> {
    const realtime = this.realtime;
    if (!realtime) return;
    for (let start = 0; start < sent.length; start += DELIVERY_CONCURRENCY) {
      await Promise.all(
        sent.slice(start, start + DELIVERY_CONCURRENCY).map(({ playerId, notification }) =>
          realtime
            .toPlayers(scope, [playerId], { op: 'notification', notification })
            .catch((error: unknown) => this.logger.warn({ err: error, player_id: playerId }, 'notifications: live delivery failed')),
        ),
      );
    }
  }

  private async sendPending(session: SessionRef, send: (event: RealtimeEvent) => void): Promise<void> {
    if (this.onConnect === 0) return;
    const scope = projectScopeOf(session);
    const rows = await this.store.undelivered(scope, session.playerId, this.onConnect);
    for (const row of rows) send({ op: 'notification', notification: storedView(row) });
    await this.store.markDelivered(scope, session.playerId, rows.map((row) => String(row.id)));
  }
}
