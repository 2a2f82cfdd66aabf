/**
 * A connection's first moments: `welcome` (with the fields other modules add, such as
 * `notifications_pending`); then, for a new session, what the session-start listeners send (notifications on
 * connect), or, for a resumed one, the buffered events it missed and the `resumed` frame; and only then the
 * live events that waited meanwhile.
 */
import type { Logger } from '../../internal/telemetry/logger.js';
import type { RealtimeEvent, SessionRef } from './api.js';
import type { RealtimeConnection } from './connection.js';
import type { Begun } from './sessions.js';

export interface WelcomeSettings {
  heartbeatMs: number;
  maxMessageBytes: number;
  resumeWindowSeconds: number;
}

type ResumedField = (session: SessionRef) => unknown;

type WelcomeField = (session: SessionRef) => Promise<unknown>;
type SessionListener = (session: SessionRef, send: (event: RealtimeEvent) => void) => Promise<void>;

/** Welcome members a module may not replace. */
const RESERVED = new Set(['op', 'connection_id', 'player_id', 'session_id', 'resume_token', 'resume_window_seconds', 'resumed', 'reason', 'heartbeat_ms', 'max_message_bytes']);

export class SessionStarter {
  private readonly fields = new Map<string, WelcomeField>();
  private readonly listeners: SessionListener[] = [];
  private readonly resumedFields = new Map<string, ResumedField>();
  private readonly resumeListeners: SessionListener[] = [];

  constructor(
    private readonly settings: WelcomeSettings,
    private readonly logger: Logger,
  ) {}

  welcomeField(name: string, value: WelcomeField): void {
    if (RESERVED.has(name) || this.fields.has(name)) throw new Error(`realtime: the welcome field "${name}" is taken`);
    this.fields.set(name, value);
  }

  onSessionStart(listener: SessionListener): void {
    this.listeners.push(listener);
  }

  onSessionResumed(listener: SessionListener): void {
    this.resumeListeners.push(listener);
  }

  resumedField(name: string, value: ResumedField): void {
    if (['op', 'replayed', 'last_seq'].includes(name) || this.resumedFields.has(name)) throw new Error(`realtime: the resumed field "${name}" is taken`);
    this.resumedFields.set(name, value);
  }

  async start(connection: RealtimeConnection, begun: Begun): Promise<void> {
    const session = begun.session.ref;
    const extra: Record<string, unknown> = {};
    await Promise.all(
      [...this.fields].map(async ([name, value]) => {
        // A field that cannot be computed (the database is away) is null rather than a failed connect.
        extra[name] = await value(session).catch((error: unknown) => {
          this.logger.warn({ err: error, field: name }, 'realtime: a welcome field failed');
          return null;
        });
      }),
    );
    connection.send(
      JSON.stringify({
        op: 'welcome',
        connection_id: session.connectionId,
        player_id: session.playerId,
        session_id: session.sessionId,
        resume_token: begun.token,
        resume_window_seconds: begun.token === null ? 0 : this.settings.resumeWindowSeconds,
        resumed: begun.resumed,
        reason: begun.resumed ? null : begun.reason,
        heartbeat_ms: this.settings.heartbeatMs,
        max_message_bytes: this.settings.maxMessageBytes,
        ...extra,
      }),
    );
    if (begun.resumed) {
      for (const frame of begun.replay) connection.send(frame);
      const fields: Record<string, unknown> = {};
      for (const [name, value] of this.resumedFields) {
        // Like a welcome field: one that cannot be computed is null rather than a failed resume.
        fields[name] = await Promise.resolve()
          .then(() => value(session))
          .catch((error: unknown) => {
            this.logger.warn({ err: error, field: name }, 'realtime: a resumed field failed');
            return null;
          });
      }
      connection.send(JSON.stringify({ ...fields, op: 'resumed', replayed: begun.replay.length, last_seq: begun.session.lastSeq }));
    }
    for (const listener of begun.resumed ? this.resumeListeners : this.listeners) {
      await listener(session, (event) => begun.session.emitNow(event)).catch((error: unknown) =>
        this.logger.warn({ err: error, resumed: begun.resumed }, 'realtime: a session-start listener failed'),
      );
    }
  }
}
