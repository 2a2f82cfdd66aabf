/**
 * What chat keeps per session. In the session's own state (which travels with it to whichever node resumes
 * it): the node that last delivered its channel messages, per joined channel the last message seq it was
 * sent, and the replies of its recent `channel.send`s (a retry after a resume gets the first reply). On this
 * node: the sessions it holds with joined channels, to renew their leases, leave their channels when they
 * end, and know whether a topic has other listeners here.
 */
import { projectScopeOf, type ProjectScope } from '../../http/auth-context.js';
import type { RealtimeApi, SessionRef } from '../realtime/api.js';
import { channelTopic } from './channel-id.js';

/**
 * A joined channel: the last message seq the session was sent (or given as `last_seq`), and the node that
 * delivers its messages (another node's id: the session moved, and waits for its refill on this one).
 */
export type Joined = [seq: number, node: string];

export interface ChatState {
  channels: Record<string, Joined>;
  /** Recent sends: [request id, reply, when (ms)], oldest first. */
  sends: [string, Record<string, unknown>, number][];
}

export const STATE = 'chat';
/** Replies of `channel.send` kept per session for a retry. */
export const SENDS_KEPT = 256;

export interface LocalSession {
  ref: SessionRef;
  scope: ProjectScope;
  channels: Set<string>;
}

const channelKey = (scope: ProjectScope, channel: string) => `${scope.tenantId}:${scope.projectId}:${channel}`;
const playerKey = (scope: ProjectScope, playerId: string) => `${scope.tenantId}:${scope.projectId}:${playerId}`;

export class LocalSessions {
  private readonly sessions = new Map<string, LocalSession>();
  /** Session keys by project channel, and by project player (each checked for liveness when read). */
  private readonly byChannel = new Map<string, Set<string>>();
  private readonly byPlayer = new Map<string, Set<string>>();

  constructor(
    private readonly realtime: RealtimeApi,
    readonly nodeId: string,
  ) {}

  state(session: SessionRef): ChatState | undefined {
    return this.realtime.sessionState<ChatState>(session, STATE);
  }

  /** The session's state, created empty when it has none. */
  stateOf(session: SessionRef): ChatState {
    const existing = this.state(session);
    if (existing) return existing;
    const created: ChatState = { channels: {}, sends: [] };
    this.realtime.setSessionState(session, STATE, created);
    return created;
  }

  save(session: SessionRef, state: ChatState): void {
    this.realtime.setSessionState(session, STATE, state);
  }

  /** Notes that the session (now on this node) has joined a channel. */
  track(session: SessionRef, channel: string): void {
    const entry = this.sessions.get(session.key) ?? { ref: session, scope: projectScopeOf(session), channels: new Set<string>() };
    entry.ref = session;
    entry.channels.add(channel);
    this.sessions.set(session.key, entry);
    add(this.byChannel, channelKey(entry.scope, channel), session.key);
    add(this.byPlayer, playerKey(entry.scope, session.playerId), session.key);
  }

  untrack(session: SessionRef, channel: string): void {
    const entry = this.sessions.get(session.key);
    if (!entry) return;
    entry.channels.delete(channel);
    remove(this.byChannel, channelKey(entry.scope, channel), session.key);
    if (entry.channels.size === 0) this.forget(entry);
  }

  /** Forgets the session (it ended); answers what this node knew of it. */
  remove(session: SessionRef): LocalSession | undefined {
    const entry = this.sessions.get(session.key);
    if (entry) this.forget(entry);
    return entry;
  }

  /** The sessions still held here (those that moved to another node are dropped as they are met). */
  live(): LocalSession[] {
    return [...this.sessions.values()].filter((entry) => this.alive(entry));
  }

  /** Whether another session held here listens to the channel. */
  othersIn(scope: ProjectScope, channel: string, except: string): boolean {
    const topic = channelTopic(scope, channel);
    for (const key of [...(this.byChannel.get(channelKey(scope, channel)) ?? [])]) {
      const entry = this.sessions.get(key);
      if (key !== except && entry && this.alive(entry) && this.realtime.topicsOf(entry.ref).includes(topic)) return true;
    }
    return false;
  }

  /** Whether a session of this player is held here (its block list is worth keeping). */
  holdsPlayer(scope: ProjectScope, playerId: string): boolean {
    for (const key of [...(this.byPlayer.get(playerKey(scope, playerId)) ?? [])]) {
      const entry = this.sessions.get(key);
      if (entry && this.alive(entry)) return true;
    }
    return false;
  }

  /** A session realtime no longer holds here (ended, or moved to another node) is forgotten. */
  private alive(entry: LocalSession): boolean {
    if (this.realtime.topicsOf(entry.ref).length > 0) return true;
    this.forget(entry);
    return false;
  }

  private forget(entry: LocalSession): void {
    this.sessions.delete(entry.ref.key);
    for (const channel of entry.channels) remove(this.byChannel, channelKey(entry.scope, channel), entry.ref.key);
    remove(this.byPlayer, playerKey(entry.scope, entry.ref.playerId), entry.ref.key);
  }
}

function add(index: Map<string, Set<string>>, key: string, member: string): void {
  const set = index.get(key);
  if (set) set.add(member);
  else index.set(key, new Set([member]));
}

function remove(index: Map<string, Set<string>>, key: string, member: string): void {
  const set = index.get(key);
  if (!set?.delete(member) || set.size > 0) return;
  index.delete(key);
}
