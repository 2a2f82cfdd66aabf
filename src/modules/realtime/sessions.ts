/**
 * The realtime sessions of this node and how they move: started, resumed (here, or pulled from the node that
 * holds them, or taken from the cache where a draining node left them), detached for the resume window, and
 * ended. A session pulled from another node moves make-before-break: this node subscribes to the session's
 * topics first, then the other node hands the session over and stops, and events heard in both places are
 * kept once (by their fan-out id), so a resume loses no event and duplicates none.
 */
import type { Logger } from '../../internal/telemetry/logger.js';
import type { RealtimeEvent, SessionRef } from './api.js';
import { CloseCode } from './envelope.js';
import type { NodeLink, LinkMessage } from './node-link.js';
import type { OnlinePlayers } from './online-players.js';
import type { ResumeStore } from './resume-store.js';
import { RealtimeSession, type PlayerIdentity, type SessionContext, type SessionSink, type SessionSnapshot } from './session.js';
import { playerTopic, type TopicMember, type TopicRouter } from './topics.js';

export type ResumeFailure = 'unknown' | 'expired' | 'overflow' | 'unavailable';

export interface ResumeRequest {
  token: string;
  lastSeq: number;
}

/** A connection's session: a new one (with why a resume failed, if one was asked for) or a resumed one. */
export type Begun =
  | { session: RealtimeSession; release: () => void; token: string | null; resumed: false; reason: ResumeFailure | null }
  | { session: RealtimeSession; release: () => void; token: string | null; resumed: true; replay: string[] };

export interface SessionRegistryOptions {
  context: SessionContext;
  windowMs: number;
  topics: TopicRouter;
  resumes: ResumeStore;
  link: NodeLink;
  online: OnlinePlayers;
  /** How long to wait for another node to hand a session over. */
  handoverTimeoutMs: number;
  onEnd: (session: SessionRef) => Promise<void>;
  onResumeOutcome: (outcome: 'resumed' | ResumeFailure) => void;
  logger: Logger;
}

/** Collects a moving session's events while its old node still delivers them, then hands them on once. */
class PendingMember implements TopicMember {
  readonly queue: { event: RealtimeEvent; origin?: string }[] = [];
  deliver(event: RealtimeEvent, origin?: string): void {
    this.queue.push({ event, origin });
  }
}

export class SessionRegistry {
  private readonly sessions = new Map<string, RealtimeSession>();
  private readonly tokens = new Map<string, string>();
  private readonly windows = new Map<string, NodeJS.Timeout>();
  /** Session ends whose listeners are still running. */
  private readonly ending = new Set<Promise<void>>();
  draining = false;

  constructor(private readonly options: SessionRegistryOptions) {}

  get size(): number {
    return this.sessions.size;
  }

  all(): IterableIterator<RealtimeSession> {
    return this.sessions.values();
  }

  byKey(key: string): RealtimeSession | undefined {
    return this.sessions.get(key);
  }

  /** The session a new connection carries: resumed when asked and possible, else a new one. */
  async begin(sink: SessionSink, identity: PlayerIdentity, resume: ResumeRequest | undefined): Promise<Begun> {
    let reason: ResumeFailure | null = null;
    if (resume) {
      const outcome = await this.resume(sink, identity, resume).catch((error: unknown) => {
        this.options.logger.warn({ err: error }, 'realtime: a resume failed');
        return 'unavailable' as const;
      });
      this.options.onResumeOutcome(typeof outcome === 'string' ? outcome : 'resumed');
      if (typeof outcome !== 'string') return outcome;
      reason = outcome;
    }
    const session = new RealtimeSession(identity, this.options.context);
    this.sessions.set(session.key, session);
    const release = session.attach(sink);
    await this.options.topics.join(playerTopic(identity.tenantId, identity.projectId, identity.playerId), session);
    await this.options.online.hold(identity, session.key, true);
    return { session, release, token: await this.issue(session), resumed: false, reason };
  }

  private async resume(sink: SessionSink, identity: PlayerIdentity, request: ResumeRequest): Promise<Begun | ResumeFailure> {
    const lookup = await this.options.resumes.take(request.token, identity);
    if (!lookup.ok) return lookup.reason;
    const { record } = lookup;
    let session: RealtimeSession | undefined;
    let release: (() => void) | undefined;
    if (record.node === this.options.link.nodeId) {
      session = this.sessions.get(record.key);
      if (!session) return 'unavailable';
      this.takeOver(session);
      release = session.attach(sink);
    } else {
      const moved = record.node === null ? await this.fromCache(identity, record.key) : await this.pull(record.node, identity, record.key);
      if (!moved) return 'unavailable';
      ({ session, release } = this.adopt(moved.snapshot, sink, moved.pending));
      await this.options.online.hold(identity, session.key, false);
    }
    const replay = session.framesAfter(request.lastSeq);
    if (replay === undefined) {
      release();
      await this.end(session, true);
      return 'overflow';
    }
    return { session, release, token: await this.issue(session), resumed: true, replay };
  }

  /** The session is resumed by another connection on this node: the old one, if still open, is replaced. */
  private takeOver(session: RealtimeSession): void {
    this.clearWindow(session);
    const old = session.attached;
    if (!old) return;
    session.detach(old);
    replaced(old, this.draining);
  }

  private async fromCache(identity: PlayerIdentity, key: string): Promise<{ snapshot: SessionSnapshot; pending?: PendingMember } | undefined> {
    const snapshot = await this.options.resumes.takeHandoff(identity, key);
    return snapshot && { snapshot };
  }

  /** Asks the holding node for the session, make-before-break (see the file's comment). */
  private async pull(node: string, identity: PlayerIdentity, key: string): Promise<{ snapshot: SessionSnapshot; pending?: PendingMember } | undefined> {
    const { link, topics, handoverTimeoutMs } = this.options;
    const prepared = await link.request(node, { type: 'prepare', key, identity }, handoverTimeoutMs);
    if (!prepared || !Array.isArray(prepared.topics)) return prepared?.missing ? this.fromCache(identity, key) : undefined;
    const pending = new PendingMember();
    const watched = [playerTopic(identity.tenantId, identity.projectId, identity.playerId), ...(prepared.topics as string[])];
    await Promise.all(watched.map((topic) => topics.join(topic, pending)));
    const committed = await link.request(node, { type: 'commit', key, identity }, handoverTimeoutMs);
    const snapshot = committed?.snapshot as SessionSnapshot | undefined;
    if (!snapshot) {
      for (const topic of watched) topics.leave(topic, pending);
      return committed?.missing ? this.fromCache(identity, key) : undefined;
    }
    // Topics the session joined between prepare and commit: join them now (their events meanwhile went to
    // the old node, which numbered them into the snapshot).
    for (const topic of snapshot.topics) if (!watched.includes(topic)) void topics.join(topic, pending);
    return { snapshot, pending };
  }

  /** Makes a moved session live here; what the pending member heard is delivered once, in order. */
  private adopt(snapshot: SessionSnapshot, sink: SessionSink, pending: PendingMember | undefined): { session: RealtimeSession; release: () => void } {
    const session = new RealtimeSession(snapshot.identity, this.options.context, snapshot);
    this.sessions.set(session.key, session);
    const release = session.attach(sink);
    for (const { event, origin } of pending?.queue ?? []) {
      if (origin === undefined || !session.hasOrigin(origin)) session.deliver(event, origin);
    }
    const { identity } = snapshot;
    // Synchronous from here: no fan-out message can arrive between the swap of the two members.
    for (const topic of [playerTopic(identity.tenantId, identity.projectId, identity.playerId), ...session.topics]) {
      void this.options.topics.join(topic, session);
      if (pending) this.options.topics.leave(topic, pending);
    }
    return { session, release };
  }

  /** Serves another node's request for a session it is resuming. */
  async answer(request: LinkMessage): Promise<LinkMessage> {
    const key = typeof request.key === 'string' ? request.key : '';
    const session = this.sessions.get(key);
    const identity = request.identity as PlayerIdentity | undefined;
    if (!session || session.identity.playerId !== identity?.playerId || session.identity.sessionId !== identity.sessionId) return { missing: true };
    if (request.type === 'prepare') return { topics: [...session.topics] };
    if (request.type !== 'commit') return { error: 'unknown request' };
    this.takeOver(session);
    return { snapshot: this.release(session) };
  }

  /** Takes the session off this node (it lives on elsewhere): no end listeners run. */
  private release(session: RealtimeSession): SessionSnapshot {
    this.clearWindow(session);
    session.flushHeld();
    const snapshot = session.snapshot();
    session.ended = true;
    this.forget(session);
    this.options.online.let(session.identity, session.key);
    return snapshot;
  }

  /** The connection carrying a session closed: the session ends, detaches for its window, or is handed off. */
  async closed(sink: SessionSink, session: RealtimeSession, code: number): Promise<void> {
    if (session.attached !== sink || this.sessions.get(session.key) !== session) return;
    session.detach(sink);
    const endsNow = code === CloseCode.normal || code === CloseCode.credentialRevoked || this.options.windowMs === 0;
    if (endsNow) return this.end(session, true);
    if (this.draining) return this.handOff(session);
    const hash = this.tokens.get(session.key);
    if (hash) {
      await this.options.resumes
        .detached(hash, { key: session.key, identity: session.identity, node: this.options.link.nodeId })
        .catch((error: unknown) => this.options.logger.warn({ err: error }, 'realtime: could not extend a resume token'));
    }
    if (session.attached || this.sessions.get(session.key) !== session) return; // resumed meanwhile
    const timer = setTimeout(() => void this.end(session, false), this.options.windowMs);
    timer.unref();
    this.windows.set(session.key, timer);
  }

  /** Leaves the session in the cache for whichever node resumes it (a draining or closing node). */
  async handOff(session: RealtimeSession): Promise<void> {
    if (this.sessions.get(session.key) !== session) return;
    const hash = this.tokens.get(session.key);
    const snapshot = this.release(session);
    if (!hash) return;
    await this.options.resumes.handOff(snapshot, hash).catch((error: unknown) => this.options.logger.warn({ err: error }, 'realtime: could not hand a session over'));
  }

  /** The session is over: it leaves its topics and the modules hear of it. */
  async end(session: RealtimeSession, forgetToken: boolean): Promise<void> {
    if (this.sessions.get(session.key) !== session) return;
    const hash = this.tokens.get(session.key);
    this.clearWindow(session);
    session.ended = true;
    this.forget(session);
    const ending = (async () => {
      if (forgetToken && hash) await this.options.resumes.forget(session.identity, hash).catch(() => undefined);
      await this.options.onEnd(session.ref);
      await this.options.online.end(session.identity, session.key);
    })();
    this.ending.add(ending);
    try {
      await ending;
    } finally {
      this.ending.delete(ending);
    }
  }

  /**
   * Resolves once the sessions ending now have told the modules (chat leaves, presence offline, party
   * grace): a stopping node waits for it before the modules close their stores.
   */
  async settled(): Promise<void> {
    while (this.ending.size > 0) await Promise.allSettled([...this.ending]);
  }

  private async issue(session: RealtimeSession): Promise<string | null> {
    if (this.options.windowMs === 0) return null;
    try {
      const { token, hash } = await this.options.resumes.issue(session.key, session.identity, this.options.link.nodeId);
      this.tokens.set(session.key, hash);
      return token;
    } catch (error) {
      // The cache is away: the session works, it just cannot be resumed.
      this.options.logger.warn({ err: error }, 'realtime: could not issue a resume token');
      return null;
    }
  }

  private forget(session: RealtimeSession): void {
    this.sessions.delete(session.key);
    this.tokens.delete(session.key);
    const { identity } = session;
    for (const topic of [playerTopic(identity.tenantId, identity.projectId, identity.playerId), ...session.topics]) this.options.topics.leave(topic, session);
  }

  private clearWindow(session: RealtimeSession): void {
    clearTimeout(this.windows.get(session.key));
    this.windows.delete(session.key);
  }
}

/** The old connection of a session resumed elsewhere: 4002, or 1012 while this node drains. */
function replaced(sink: SessionSink, draining: boolean): void {
  sink.close(draining ? CloseCode.serviceRestart : CloseCode.replaced, draining ? 'server restarting' : 'replaced by a resumed connection');
}
