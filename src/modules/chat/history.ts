/**
 * Channel history over REST: pages in either direction by seq, and deletes (a player its own messages, a
 * secret key any message of its project). A player reads any room, its own dms and its current party's
 * channel; anything else answers 404, as if it did not exist.
 */
import type { ProjectScope } from '../../http/auth-context.js';
import { notFound, validation } from '../../internal/errors/app-error.js';
import type { ChatMessage } from './api.js';
import type { ChannelRules } from './channel-access.js';
import { channelTopic, type Channel } from './channel-id.js';
import type { RealtimeEvent } from '../realtime/api.js';
import type { MessageStore } from './message-store.js';

export const DELETED_EVENT = 'channel.message_deleted';

/** Who asks: a player (its token, acting for itself) or the project's secret key. */
export type Caller = { kind: 'player'; playerId: string } | { kind: 'secret' };

export interface HistoryPage {
  items: ChatMessage[];
  next_cursor: number | null;
}

export class ChatHistory {
  constructor(
    private readonly store: MessageStore,
    private readonly rules: ChannelRules,
    private readonly publish: (topic: string, event: RealtimeEvent) => Promise<void>,
  ) {}

  async list(scope: ProjectScope, caller: Caller, raw: string, query: { before_seq?: number; after_seq?: number; limit?: number }): Promise<HistoryPage> {
    if (query.before_seq !== undefined && query.after_seq !== undefined) throw validation('Give before_seq or after_seq, not both.');
    const channel = await this.channel(scope, caller, raw);
    const limit = query.limit ?? 50;
    const rows =
      query.after_seq !== undefined
        ? await this.store.after(scope, channel.id, query.after_seq, limit + 1)
        : await this.store.before(scope, channel.id, query.before_seq ?? null, limit + 1);
    const items = rows.slice(0, limit);
    return { items, next_cursor: rows.length > limit ? items.at(-1)!.seq : null };
  }

  async remove(scope: ProjectScope, caller: Caller, raw: string, seq: number): Promise<string> {
    const channel = await this.channel(scope, caller, raw);
    const removed = await this.store.remove(scope, channel.id, seq, caller.kind === 'player' ? caller.playerId : null);
    if (!removed) throw notFound('No such message.');
    await this.publish(channelTopic(scope, channel.id), { op: DELETED_EVENT, channel: channel.id, message_seq: seq });
    return channel.id;
  }

  private channel(scope: ProjectScope, caller: Caller, raw: string): Promise<Channel> | Channel {
    return caller.kind === 'player' ? this.rules.forPlayer(scope, raw, caller.playerId, 'read') : this.rules.forSecret(raw);
  }
}
