/** What the realtime module offers the others (the only file of this folder another module may import). */
import type { ProjectScope } from '../../http/auth-context.js';
import type { Budget, RateLimiter } from '../ratelimit/api.js';

/** An event as a module sends it: `op` and its fields. The session it reaches numbers it (`seq`). */
export interface RealtimeEvent {
  op: string;
  [field: string]: unknown;
}

/**
 * Thrown by an op whose per-player budget is spent (chat messages, presence updates, party data): the client
 * gets `{"op":"error","code":"rate-limited","status":429,"retry_after_ms"}`.
 */
export class OpRateLimited extends Error {
  constructor(
    message: string,
    readonly retryAfterMs: number,
  ) {
    super(message);
  }
}

/**
 * Spends one unit of a per-player op budget (through the rate limiter: shared by every node, the node's own
 * while the cache is away) and throws OpRateLimited when it is spent. A limit of 0 never refuses.
 */
export async function spendOpBudget(limiter: Pick<RateLimiter, 'take'>, budget: Budget, message: string): Promise<void> {
  const decision = await limiter.take(budget);
  if (!decision.allowed) throw new OpRateLimited(message, Math.max(1, Math.ceil(decision.retryAfterMs)));
}

/** One connection's player and session, as ops and session listeners see it. */
export interface SessionRef {
  tenantId: string;
  projectId: string;
  playerId: string;
  /** The auth session (the access token's `sid`). */
  sessionId: string;
  /** The id (in `welcome`) of the connection that carries the session now, or carried it last. */
  connectionId: string;
  /** The realtime session: the same across resumes, on any node (key module state by it). */
  key: string;
}

/** Open WebSockets, counted across every node, of a tenant (projectId null) or of one of its projects. */
export interface OpenCount {
  tenantId: string;
  projectId: string | null;
  count: number;
}

/** A request frame: `op`, the optional `id`, and the op's own fields (unvalidated: each op checks its own). */
export interface OpRequest {
  op: string;
  id?: string;
  [field: string]: unknown;
}

/**
 * Serves one op. Returns the fields of the `ok` reply (nothing: a bare `ok`), or throws an AppError, which
 * becomes an error frame with the REST slug as `code`, its status and its extensions. A reply is sent before
 * any event the op causes reaches the same connection.
 */
export type OpHandler = (request: OpRequest, session: SessionRef) => Promise<Record<string, unknown> | void> | Record<string, unknown> | void;

/**
 * Puts one topic's events in order on this node (chat: per-channel `seq`). Called one at a time per topic;
 * answers the events to deliver now, in order: none while waiting for a missing one, several after reading
 * missed ones from the store.
 */
export interface TopicSequencer {
  accept(topic: string, event: RealtimeEvent): Promise<readonly RealtimeEvent[]>;
  /** The node's fan-out subscriptions came back after an outage: anything may have been missed. */
  resync(topic: string): Promise<readonly RealtimeEvent[]>;
}

/** A message for the modules of the nodes holding a player's sessions; never sent to a client. */
export interface RealtimeSignal {
  type: string;
  [field: string]: unknown;
}

export interface RealtimeApi {
  /** WS_RESUME_WINDOW_SECONDS in ms: how long a detached session may be resumed (retries are deduplicated as long). */
  readonly resumeWindowMs: number;
  /** Adds a module's ops (`channel.*`, `party.*`, …); a name registered twice fails the start. */
  registerOps(ops: Readonly<Record<string, OpHandler>>): void;
  /**
   * Hears every message this node counts for usage: a client frame accepted (past its budget, parsed, not a
   * ping) and an event frame delivered to a client. Synchronous, on the frame path: keep it cheap.
   */
  onMessage(listener: (scope: ProjectScope) => void): void;
  /**
   * The open WebSockets, across every node, of each tenant and project this node holds a connection of,
   * from the connection-cap leases (usage samples its ccu_peak with it).
   */
  openConnections(): Promise<OpenCount[]>;
  /** The op names clients may send (`ping` and every registered op), for documentation and the fuzzers. */
  opNames(): string[];
  /**
   * Sends an event to every connection of these players, on every node (through the fan-out backend).
   * At most once: what must not be lost is stored by the caller first (notifications, messages).
   */
  toPlayers(scope: ProjectScope, playerIds: readonly string[], event: RealtimeEvent): Promise<void>;
  /** Runs for every new session right after its `welcome` (not for a resumed one): notifications on connect. */
  onSessionStart(listener: (session: SessionRef, send: (event: RealtimeEvent) => void) => Promise<void>): void;
  /** Adds a field to every `welcome` (e.g. `notifications_pending`), computed for the connecting session. */
  welcomeField(name: string, value: (session: SessionRef) => Promise<unknown>): void;

  /**
   * Adds the session to a topic (a channel, a party); resolves once events published on it from now on
   * reach the session. Kept while the session lives, across resumes on any node.
   */
  joinTopic(session: SessionRef, topic: string): Promise<void>;
  leaveTopic(session: SessionRef, topic: string): void;
  /** The topics the session has joined. */
  topicsOf(session: SessionRef): readonly string[];
  /** Sends an event to every session joined to the topic, on every node (at most once, like toPlayers). */
  publish(topic: string, event: RealtimeEvent): Promise<void>;
  /** Orders the events of every topic that starts with `prefix` on this node (one sequencer per prefix). */
  sequenceTopics(prefix: string, sequencer: TopicSequencer): void;
  /** Decides, per receiving session, whether an event reaches it (e.g. not from a player it blocked). */
  filterEvents(filter: (session: SessionRef, event: RealtimeEvent) => boolean): void;

  /** What a module keeps for a session (JSON); it travels with the session to whichever node resumes it. */
  sessionState<T>(session: SessionRef, name: string): T | undefined;
  setSessionState(session: SessionRef, name: string, value: unknown): void;
  /** Runs once a session has ended for good (closed by the client, revoked, or its resume window passed). */
  onSessionEnd(listener: (session: SessionRef) => Promise<void> | void): void;
  /**
   * Runs for every resumed session right after its `resumed` frame. A session that came from the cache (its
   * node drained without a live hand-over) may have missed topic events meanwhile: chat refills them here.
   */
  onSessionResumed(listener: (session: SessionRef, send: (event: RealtimeEvent) => void) => Promise<void>): void;
  /** Adds a field to every `resumed` frame (`channels`, `party_id`), computed (or awaited) for the resumed session. */
  resumedField(name: string, value: (session: SessionRef) => unknown): void;

  /** Sends a signal to the modules on every node holding a session of these players (not to clients). */
  signal(scope: ProjectScope, playerIds: readonly string[], signal: RealtimeSignal): Promise<void>;
  /** Sends a signal to the modules holding every session joined to a topic, on every node (not to clients). */
  signalTopic(topic: string, signal: RealtimeSignal): Promise<void>;
  /** Runs for each local session of a player a signal of this type was sent to. */
  onSignal(type: string, listener: (session: SessionRef, signal: RealtimeSignal) => void): void;

  /**
   * Which of these players are online: some node holds a session of theirs, attached or detached within its
   * window (a crashed node's sessions count until their leases expire, WS_LEASE_TTL_MS).
   */
  online(scope: ProjectScope, playerIds: readonly string[]): Promise<Set<string>>;
  /** Runs on the node where a player's first session starts (not for a resume). */
  onPlayerOnline(listener: (scope: ProjectScope, playerId: string) => Promise<void> | void): void;
  /** Runs on the node where a player's last session ends (after the session-end listeners). */
  onPlayerOffline(listener: (scope: ProjectScope, playerId: string) => Promise<void> | void): void;
}

declare module '../contract.js' {
  interface Provisions {
    realtime: RealtimeApi;
  }
}
