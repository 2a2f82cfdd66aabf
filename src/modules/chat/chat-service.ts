/**
 * The channel ops on the realtime socket (join, leave, send), the session hooks that keep channels right
 * across resumes and ends, and the per-session event filter. How ordering and "never twice" hold:
 * every message event of a channel reaches this node's sessions through the channel feed, in seq order with
 * gaps filled from PostgreSQL; each session keeps the last seq it was sent per channel (its join reply's
 * `last_seq` to begin with, set under the feed's lock so nothing slips between the read and the first event)
 * and the filter passes only later ones. A session that arrives from another node drops its channel
 * messages until the resume listener has sent it, under the same lock, everything after its last seq.
 */
import { projectScopeOf, type ProjectScope } from '../../http/auth-context.js';
import type { Database } from '../../internal/db/database.js';
import { forbidden, limitReached, validation } from '../../internal/errors/app-error.js';
import type { Logger } from '../../internal/telemetry/logger.js';
import type { AuthApi } from '../auth/api.js';
import type { NotificationsApi } from '../notifications/api.js';
import type { RateLimiter } from '../ratelimit/api.js';
import { OpRateLimited, type OpRequest, type RealtimeApi, type RealtimeEvent, type SessionRef } from '../realtime/api.js';
import type { ProjectSettingsSource } from '../tenancy/api.js';
import type { ChatMessage, MessageMeter } from './api.js';
import type { BlockLists } from './block-lists.js';
import type { ChannelRules } from './channel-access.js';
import { channelTopic, parseChannel } from './channel-id.js';
import { MESSAGE_EVENT, messageEvent, type ChannelFeed } from './channel-feed.js';
import type { ChatConfig } from './config.js';
import { SENDS_KEPT, type LocalSessions } from './local-sessions.js';
import { DELETED_EVENT } from './history.js';
import { checkBody } from './message-body.js';
import type { MessageStore } from './message-store.js';
import type { Membership } from './membership.js';

export const PRESENCE_EVENT = 'channel.presence';

const MINUTE = 60_000;
/** Players in a dm channel. */
const DM_MEMBERS = 2;
/** A party channel's members are the party's: its own size bounds them. */
const PARTY_MEMBERS = 1_000_000;
const REFILL_PAGE = 500;

type MemberLeftListener = (scope: ProjectScope, channel: string, playerId: string) => Promise<void> | void;

export interface ChatServiceDeps {
  db: Database;
  store: MessageStore;
  membership: Membership;
  feed: ChannelFeed;
  sessions: LocalSessions;
  blocks: BlockLists;
  rules: ChannelRules;
  realtime: RealtimeApi;
  players: AuthApi['players'];
  notifications: Pick<NotificationsApi, 'store'>;
  settings: ProjectSettingsSource;
  limiter: Pick<RateLimiter, 'take'>;
  config: ChatConfig;
  logger: Logger;
}

interface Limits {
  maxMembers: number;
  maxJoined: number;
  messagesPerMin: number;
}

function historyOf(raw: unknown): number {
  if (raw === undefined) return 20;
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 0 || raw > 100) throw validation('history must be an integer from 0 to 100.');
  return raw;
}

export class ChatService {
  /** The plan-limit seam: the usage module's `messages` meter, once one is plugged in (useMessageMeter). */
  private meter: MessageMeter | undefined;
  /** Sends being stored, by session and request id (a retry arriving meanwhile waits for the first). */
  private readonly inflight = new Map<string, Promise<Record<string, unknown>>>();

  private readonly memberLeft: MemberLeftListener[] = [];

  constructor(private readonly deps: ChatServiceDeps) {}

  useMessageMeter(meter: MessageMeter): void {
    this.meter = meter;
  }

  async join(session: SessionRef, request: OpRequest): Promise<Record<string, unknown>> {
    const { rules, sessions, membership, realtime, feed, store, blocks } = this.deps;
    const scope = projectScopeOf(session);
    const history = historyOf(request.history);
    const channel = await rules.forPlayer(scope, request.channel, session.playerId, 'use');
    const topic = channelTopic(scope, channel.id);
    const state = sessions.stateOf(session);
    if (state.channels[channel.id]) {
      const latest = await store.latest(scope, channel.id, history);
      return { channel: channel.id, members: await this.members(scope, channel.id), messages: latest.messages, last_seq: latest.lastSeq };
    }
    const limits = await this.limits(scope);
    if (Object.keys(state.channels).length >= limits.maxJoined) throw limitReached('This connection has joined as many channels as it may.', limits.maxJoined);
    const cap = channel.kind === 'room' ? limits.maxMembers : channel.kind === 'dm' ? DM_MEMBERS : PARTY_MEMBERS;
    const outcome = await membership.join(scope, channel.id, session.playerId, session.key, cap);
    if (outcome === 'full') throw limitReached('The channel is full.', cap);
    let latest: { lastSeq: number; messages: ChatMessage[] };
    try {
      await realtime.joinTopic(session, topic);
      await blocks.load(scope, session.playerId);
      latest = await feed.withLock(topic, async () => {
        const read = await store.latest(scope, channel.id, history);
        const alone = !sessions.othersIn(scope, channel.id, session.key);
        state.channels[channel.id] = [read.lastSeq, sessions.nodeId];
        sessions.save(session, state);
        sessions.track(session, channel.id);
        feed.startAt(topic, read.lastSeq, alone);
        return read;
      });
    } catch (error) {
      realtime.leaveTopic(session, topic);
      await membership.leave(scope, channel.id, session.playerId, session.key).catch(() => undefined);
      throw error;
    }
    const members = await this.members(scope, channel.id);
    if (outcome === 'first') {
      const me = members.find((member) => member.player_id === session.playerId) ?? { player_id: session.playerId, username: null };
      await this.publish(topic, { op: PRESENCE_EVENT, channel: channel.id, joins: [me], leaves: [] });
    }
    return { channel: channel.id, members, messages: latest.messages, last_seq: latest.lastSeq };
  }

  async leave(session: SessionRef, request: OpRequest): Promise<void> {
    const channel = parseChannel(request.channel, session.playerId);
    await this.leaveChannel(session, channel.id);
  }

  /**
   * A send, deduplicated by (session, request id): a retry gets the first reply, whether the first is
   * done (kept in the session's state, which follows it across resumes) or still running on this node.
   */
  async send(session: SessionRef, request: OpRequest): Promise<Record<string, unknown>> {
    if (request.id === undefined) return this.sendOnce(session, request);
    // Within the resume window, the window a retry after a resume can come in (WS_RESUME_WINDOW_SECONDS).
    const since = Date.now() - this.deps.realtime.resumeWindowMs;
    const earlier = this.deps.sessions.state(session)?.sends.find(([id, , at]) => id === request.id && at >= since);
    if (earlier) return earlier[1];
    const key = `${session.key}\u0000${request.id}`;
    const running = this.inflight.get(key);
    if (running) return running;
    const sending = this.sendOnce(session, request);
    this.inflight.set(key, sending);
    try {
      return await sending;
    } finally {
      this.inflight.delete(key);
    }
  }

  private async sendOnce(session: SessionRef, request: OpRequest): Promise<Record<string, unknown>> {
    const { sessions, rules, db, store, players } = this.deps;
    const state = sessions.state(session);
    const scope = projectScopeOf(session);
    const channel = parseChannel(request.channel, session.playerId);
    if (!state?.channels[channel.id]) throw forbidden('Join the channel before sending to it.');
    const body = checkBody(request);
    await this.charge(scope, session.playerId);
    await rules.assertDmOpen(scope, channel);
    await this.meter?.admit(scope);
    const sender = await players.get(scope, session.playerId);
    const stored = await db.withTenant(scope, async (tx) => {
      const written = await store.append(tx, scope, channel.id, session.playerId, body);
      const recipient = channel.kind === 'dm' ? channel.players.find((id) => id !== session.playerId) : undefined;
      const notify =
        recipient !== undefined && !(await this.deps.membership.hasSession(scope, channel.id, recipient))
          ? await this.deps.notifications.store(tx, scope, [
              {
                playerId: recipient,
                code: 'ggscale.dm',
                subject: `New message from ${sender?.username ?? 'a player'}`,
                content: { channel: channel.id, seq: written.seq, sender_id: session.playerId, username: sender?.username ?? null },
                senderId: session.playerId,
              },
            ])
          : undefined;
      return { ...written, notify };
    });
    const message: ChatMessage = {
      channel: channel.id,
      seq: stored.seq,
      sender_id: session.playerId,
      username: sender?.username ?? null,
      ...body,
      created_at: stored.createdAt,
    };
    await this.publish(channelTopic(scope, channel.id), messageEvent(message));
    await stored.notify?.().catch((error: unknown) => this.deps.logger.warn({ err: error }, 'chat: dm notification delivery failed'));
    const reply = { channel: channel.id, seq: stored.seq, created_at: stored.createdAt };
    if (request.id !== undefined) {
      const now = Date.now();
      state.sends = state.sends.filter(([, , at]) => at >= now - this.deps.realtime.resumeWindowMs);
      state.sends.push([request.id, reply, now]);
      if (state.sends.length > SENDS_KEPT) state.sends.splice(0, state.sends.length - SENDS_KEPT);
      sessions.save(session, state);
    }
    return reply;
  }

  /** The session leaves a channel (if it had joined): its player's last session there is a presence leave. */
  async leaveChannel(session: SessionRef, channel: string): Promise<void> {
    const { sessions, realtime } = this.deps;
    const scope = projectScopeOf(session);
    const state = sessions.state(session);
    const joined = state?.channels[channel] !== undefined;
    if (state && joined) {
      delete state.channels[channel];
      sessions.save(session, state);
    }
    realtime.leaveTopic(session, channelTopic(scope, channel));
    sessions.untrack(session, channel);
    if (joined) await this.left(scope, channel, session.playerId, session.key);
  }

  /** A session that had joined `channel` has gone from it (left, ended, or removed). */
  private async left(scope: ProjectScope, channel: string, playerId: string, sessionKey: string): Promise<void> {
    const { sessions, feed, blocks, membership } = this.deps;
    if (!sessions.othersIn(scope, channel, sessionKey)) feed.forget(channelTopic(scope, channel));
    if (!sessions.holdsPlayer(scope, playerId)) blocks.drop(scope, playerId);
    if (await membership.leave(scope, channel, playerId, sessionKey)) {
      await this.publish(channelTopic(scope, channel), { op: PRESENCE_EVENT, channel, joins: [], leaves: [{ player_id: playerId }] });
      for (const listener of this.memberLeft) {
        await Promise.resolve(listener(scope, channel, playerId)).catch((error: unknown) => this.deps.logger.warn({ err: error }, 'chat: a member-left listener failed'));
      }
    }
  }

  /** Of these players, those in a channel this session has joined. */
  async channelMates(session: SessionRef, playerIds: readonly string[]): Promise<Set<string>> {
    const channels = Object.keys(this.deps.sessions.state(session)?.channels ?? {});
    const wanted = new Set(playerIds);
    const mates = new Set<string>();
    for (const channel of channels) {
      if (mates.size === wanted.size) break;
      for (const id of await this.deps.membership.players(projectScopeOf(session), channel)) if (wanted.has(id)) mates.add(id);
    }
    return mates;
  }

  onMemberLeft(listener: MemberLeftListener): void {
    this.memberLeft.push(listener);
  }

  /** Session end: every channel the node knew it had joined is left. */
  async ended(session: SessionRef): Promise<void> {
    const entry = this.deps.sessions.remove(session);
    if (!entry) return;
    for (const channel of entry.channels) {
      await this.left(entry.scope, channel, session.playerId, session.key).catch((error: unknown) =>
        this.deps.logger.warn({ err: error }, 'chat: leaving a channel at session end failed'),
      );
    }
  }

  /**
   * A resumed session: on the node that delivered its messages nothing was missed; one that arrives from
   * another node is sent, per channel under the feed's lock, every message after its last seq.
   */
  async resumed(session: SessionRef, send: (event: RealtimeEvent) => void): Promise<void> {
    const { sessions, store, feed, blocks, membership, logger } = this.deps;
    const state = sessions.state(session);
    if (!state) return;
    const scope = projectScopeOf(session);
    const moved = Object.entries(state.channels).filter(([, [, node]]) => node !== sessions.nodeId);
    for (const channel of Object.keys(state.channels)) sessions.track(session, channel);
    if (moved.length === 0) return;
    await blocks.load(scope, session.playerId).catch((error: unknown) => logger.warn({ err: error }, 'chat: could not read a block list'));
    for (const [channel, joined] of moved) {
      const topic = channelTopic(scope, channel);
      try {
        await membership.renew(scope, channel, session.playerId, session.key);
        await feed.withLock(topic, async () => {
          const lastSeq = await store.lastSeq(scope, channel);
          let from = joined[0];
          while (from < lastSeq) {
            const page = await store.after(scope, channel, from, REFILL_PAGE, lastSeq);
            for (const message of page) if (this.reaches(session, message)) send(messageEvent(message));
            if (page.length < REFILL_PAGE) break;
            from = page.at(-1)!.seq;
          }
          joined[0] = Math.max(joined[0], lastSeq);
          joined[1] = sessions.nodeId;
          feed.startAt(topic, lastSeq, !sessions.othersIn(scope, channel, session.key));
        });
      } catch (error) {
        // Live messages flow again; what was missed meanwhile is in the history.
        joined[1] = sessions.nodeId;
        logger.warn({ err: error, channel }, 'chat: refilling a resumed session failed');
      }
    }
    sessions.save(session, state);
  }

  /** Decides, per receiving session, whether a chat event reaches it. */
  filter(session: SessionRef, event: RealtimeEvent): boolean {
    if (event.op === MESSAGE_EVENT) {
      const message = event.message as ChatMessage;
      const joined = this.deps.sessions.state(session)?.channels[message.channel];
      if (!joined || joined[1] !== this.deps.sessions.nodeId || message.seq <= joined[0]) return false;
      joined[0] = message.seq;
      return this.reaches(session, message);
    }
    if (event.op === PRESENCE_EVENT || event.op === DELETED_EVENT) {
      return this.deps.sessions.state(session)?.channels[event.channel as string] !== undefined;
    }
    return true;
  }

  /** Whether a live message reaches the session: not from a player it blocked, in room and party channels. */
  private reaches(session: SessionRef, message: ChatMessage): boolean {
    if (message.sender_id === session.playerId || message.channel.startsWith('dm:')) return true;
    return !this.deps.blocks.blocks(projectScopeOf(session), session.playerId, message.sender_id);
  }

  /** The players joined to a channel, each once, with their usernames. */
  async members(scope: ProjectScope, channel: string): Promise<{ player_id: string; username: string | null }[]> {
    const ids = (await this.deps.membership.players(scope, channel)).sort();
    const found = ids.length > 0 ? await this.deps.players.find(scope, ids) : new Map<string, { username: string | null }>();
    return ids.map((id) => ({ player_id: id, username: found.get(id)?.username ?? null }));
  }

  /** Publishes to a channel's sessions; a failure is logged (the message is stored: history and gap fills have it). */
  async publish(topic: string, event: RealtimeEvent): Promise<void> {
    await this.deps.realtime.publish(topic, event).catch((error: unknown) => this.deps.logger.warn({ err: error }, 'chat: publishing an event failed'));
  }

  private async limits(scope: ProjectScope): Promise<Limits> {
    const { limits } = await this.deps.settings.get(scope);
    const { config } = this.deps;
    return {
      maxMembers: limits['channel_max_members'] ?? config.maxMembers,
      maxJoined: limits['channel_max_joined'] ?? config.maxJoined,
      messagesPerMin: limits['chat_messages_per_min'] ?? config.messagesPerMin,
    };
  }

  /** CHAT_MESSAGES_PER_MIN per player, through the rate limiter (the node's own budget while the cache is away). */
  private async charge(scope: ProjectScope, playerId: string): Promise<void> {
    const { messagesPerMin } = await this.limits(scope);
    const decision = await this.deps.limiter.take({
      name: 'chat-messages',
      key: `{${scope.tenantId}}:${scope.projectId}:rl:chat-messages:${playerId}`,
      limit: messagesPerMin,
      windowMs: MINUTE,
    });
    if (!decision.allowed) throw new OpRateLimited('Too many messages; retry after retry_after_ms.', Math.max(1, Math.ceil(decision.retryAfterMs)));
  }
}
