/**
 * The open connections of this node, indexed by session and by player so that a revocation closes exactly
 * the sockets it concerns (a logged-out session's or banned player's sockets close within 1 s on every node).
 * Revocations arrive through the same invalidation events the CredentialResolver applies; when one may have
 * been missed ({type:'all'}, or the cache's pub/sub reconnected), every socket's credential is checked again.
 * Each connection carries a realtime session (sessions.ts), which may outlive it; draining hands every
 * session on before the node stops.
 */
import type { WebSocket } from 'ws';
import { AppError } from '../../internal/errors/app-error.js';
import type { Logger } from '../../internal/telemetry/logger.js';
import type { Invalidation } from '../auth/api.js';
import { RealtimeConnection, type ConnectionContext, type Holder } from './connection.js';
import { CloseCode } from './envelope.js';
import { Heartbeat } from './heartbeat.js';
import type { SessionStarter } from './session-start.js';
import type { ResumeRequest, SessionRegistry } from './sessions.js';

export interface HubOptions {
  /** What every connection shares (ops, message budget, op deadline). */
  connection: ConnectionContext;
  sessions: SessionRegistry;
  starter: SessionStarter;
  heartbeatMs: number;
  closeGraceMs: number;
  /** Re-checks a credential; rejects with an 'unauthorized' AppError when it is no longer good. */
  recheck: (credential: string) => Promise<unknown>;
  logger: Logger;
}

/** Connections re-checked at once after a possibly missed revocation (each may cost a database read). */
const RECHECK_CONCURRENCY = 16;

export class RealtimeHub {
  private readonly connections = new Set<RealtimeConnection>();
  private readonly bySession = new Map<string, Set<RealtimeConnection>>();
  private readonly byPlayer = new Map<string, Set<RealtimeConnection>>();
  private readonly heartbeat: Heartbeat;
  private recheckRunning = false;
  private recheckAgain = false;
  private shuttingDown = false;

  constructor(private readonly options: HubOptions) {
    this.heartbeat = new Heartbeat(
      options.heartbeatMs,
      () => this.connections,
      (connection) => this.options.logger.debug({ player_id: connection.identity.playerId }, 'realtime peer did not answer pings'),
    );
    this.heartbeat.start();
  }

  get size(): number {
    return this.connections.size;
  }

  get closing(): boolean {
    return this.shuttingDown || this.options.sessions.draining;
  }

  /**
   * Adopts an upgraded socket. The lease is released when the socket closes, however it closes. The session
   * starts once the node listens to the player's topic: welcome, then what session listeners send.
   */
  open(socket: WebSocket, holder: Holder, resume?: ResumeRequest): RealtimeConnection {
    const { identity, lease } = holder;
    const connection = new RealtimeConnection(socket, holder, this.options.connection);
    this.connections.add(connection);
    index(this.bySession, identity.sessionId, connection);
    index(this.byPlayer, playerKey(identity.projectId, identity.playerId), connection);
    socket.on('message', (data, isBinary) => connection.receive(data, isBinary));
    socket.on('pong', () => {
      connection.alive = true;
    });
    socket.once('close', (code) => {
      this.forget(connection);
      void lease.release();
      const session = connection.session;
      if (session) void this.options.sessions.closed(connection, session, connection.closedBy ?? code);
      this.options.logger.debug({ tenant_id: identity.tenantId, player_id: identity.playerId, code }, 'realtime disconnected');
    });
    if (this.shuttingDown || this.options.sessions.draining) {
      connection.close(CloseCode.serviceRestart, 'server restarting');
      return connection;
    }
    void this.start(connection, resume);
    return connection;
  }

  private async start(connection: RealtimeConnection, resume: ResumeRequest | undefined): Promise<void> {
    let begun;
    try {
      begun = await this.options.sessions.begin(connection, connection.identity, resume);
    } catch (error) {
      this.options.logger.error({ err: error }, 'realtime: starting a session failed');
      connection.close(CloseCode.internalError, 'internal error');
      return;
    }
    // Closed while starting: the session had no connection to detach from; it detaches now.
    connection.session = begun.session;
    if (!connection.open) {
      begun.release();
      void this.options.sessions.closed(connection, begun.session, connection.closedBy ?? CloseCode.goingAway);
      return;
    }
    try {
      await this.options.starter.start(connection, begun);
    } catch (error) {
      this.options.logger.error({ err: error }, 'realtime: starting a session failed');
      connection.close(CloseCode.internalError, 'internal error');
    }
    connection.started(begun.session, begun.release);
  }

  /** Applies an auth invalidation event: closes the sockets of an ended session or a banned player. */
  invalidate(event: Invalidation): void {
    switch (event.type) {
      case 'session':
        this.revoke(this.bySession.get(event.id), 'session ended');
        // Detached sessions of that sign-in end too (their sockets' closes end the attached ones).
        for (const session of [...this.options.sessions.all()]) {
          if (session.identity.sessionId === event.id && !session.attached) void this.options.sessions.end(session, true);
        }
        break;
      case 'player':
        // A ban or "revoke all" ends every session, a password change only the other ones: ask again
        // (the resolver has just dropped its cached decisions) instead of closing them all.
        for (const connection of this.byPlayer.get(playerKey(event.projectId, event.id)) ?? []) void this.recheck(connection, 'always');
        break;
      case 'all':
        void this.recheckAll();
        break;
      case 'key':
        break; // player sockets are not opened with API keys
    }
  }

  /**
   * Checks every socket's credential again (a revocation may have been missed); closes those now refused.
   * Sockets whose access token has expired since they connected are left open: the token can no longer
   * tell, and closing every long-lived socket at each pub/sub reconnect would disconnect most players.
   */
  async recheckAll(): Promise<void> {
    if (this.recheckRunning) {
      this.recheckAgain = true;
      return;
    }
    this.recheckRunning = true;
    try {
      do {
        this.recheckAgain = false;
        const all = [...this.connections];
        for (let i = 0; i < all.length; i += RECHECK_CONCURRENCY) {
          await Promise.all(all.slice(i, i + RECHECK_CONCURRENCY).map((connection) => this.recheck(connection, 'while-token-valid')));
        }
      } while (this.recheckAgain);
    } finally {
      this.recheckRunning = false;
    }
  }

  /**
   * Draining (SIGTERM): each client is told to reconnect after a delay spread over `spreadMs`, and is served
   * until it resumes elsewhere (its old connection then closes with 1012), closes, or its delay and the close
   * grace have passed (its session is then left in the cache, and the socket closed with 1012). Resolves
   * once no client is left, or at the latest after the spread and the grace.
   */
  async drain(spreadMs: number): Promise<void> {
    const { sessions } = this.options;
    if (sessions.draining) return;
    sessions.draining = true;
    for (const connection of this.connections) {
      const afterMs = Math.floor(Math.random() * (spreadMs + 1));
      connection.send(JSON.stringify({ op: 'reconnect', after_ms: afterMs }));
      const cut = setTimeout(() => void this.handOffAndClose(connection), afterMs + this.options.closeGraceMs);
      cut.unref();
      connection.socket.once('close', () => clearTimeout(cut));
    }
    const deadline = Date.now() + spreadMs + this.options.closeGraceMs + 1_000;
    while (this.connections.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    // Detached sessions go to the cache too, for a resume on another node within their window.
    await Promise.all([...sessions.all()].map((session) => sessions.handOff(session)));
    await sessions.settled();
  }

  private async handOffAndClose(connection: RealtimeConnection): Promise<void> {
    const session = connection.session;
    if (session && session.attached === connection) {
      session.detach(connection);
      await this.options.sessions.handOff(session);
    }
    connection.close(CloseCode.serviceRestart, 'server restarting');
  }

  /**
   * Shutdown: sessions are left in the cache for a resume elsewhere, then every client gets 1012 (reconnect
   * elsewhere); those that do not answer within the grace are cut.
   */
  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    this.options.sessions.draining = true;
    this.heartbeat.stop();
    await Promise.all([...this.connections].map((connection) => this.handOffAndClose(connection)));
    await Promise.all([...this.options.sessions.all()].map((session) => this.options.sessions.handOff(session)));
    const deadline = Date.now() + this.options.closeGraceMs;
    while (this.connections.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    for (const connection of this.connections) connection.socket.terminate();
    await new Promise((resolve) => setImmediate(resolve)); // the terminated sockets' close events
    // Sessions that ended meanwhile (a client's 1000) finish telling the modules before their stores close.
    await this.options.sessions.settled();
  }

  /** 'always': a refusal for any reason closes the socket (an expired token too: a ban must not miss it). */
  async recheck(connection: RealtimeConnection, mode: 'always' | 'while-token-valid'): Promise<void> {
    if (!connection.open) return;
    if (mode === 'while-token-valid' && connection.credentialExpiresAt <= Date.now()) return;
    try {
      await this.options.recheck(connection.credential);
    } catch (error) {
      if (error instanceof AppError && error.slug === 'unauthorized') {
        this.revoke([connection], 'credential no longer valid');
      } else {
        // The database may be briefly away: keep the socket rather than drop everyone at once.
        this.options.logger.warn({ err: error }, 'realtime: could not re-check a connection credential');
      }
    }
  }

  private revoke(connections: Iterable<RealtimeConnection> | undefined, reason: string): void {
    for (const connection of connections ?? []) {
      if (!connection.open) continue; // already closing (events arrive both locally and through pub/sub)
      connection.close(CloseCode.credentialRevoked, reason);
      // Whether or not the client answers the close, its slot and its access end now.
      void connection.lease.release();
      const cut = setTimeout(() => connection.socket.terminate(), this.options.closeGraceMs);
      cut.unref();
      connection.socket.once('close', () => clearTimeout(cut));
    }
  }

  private forget(connection: RealtimeConnection): void {
    this.connections.delete(connection);
    unindex(this.bySession, connection.identity.sessionId, connection);
    unindex(this.byPlayer, playerKey(connection.identity.projectId, connection.identity.playerId), connection);
  }
}

function playerKey(projectId: string, playerId: string): string {
  return `${projectId}:${playerId}`;
}

function index(map: Map<string, Set<RealtimeConnection>>, key: string, connection: RealtimeConnection): void {
  const set = map.get(key);
  if (set) set.add(connection);
  else map.set(key, new Set([connection]));
}

function unindex(map: Map<string, Set<RealtimeConnection>>, key: string, connection: RealtimeConnection): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(connection);
  if (set.size === 0) map.delete(key);
}
