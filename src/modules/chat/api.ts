/**
 * What the chat module offers the others (the only file of this folder another module may import): the
 * message as clients see it, and the hook through which the parties module (when it exists) decides who may
 * use a `party:<id>` channel and makes a leaving member leave its channel.
 */
import type { ProjectScope } from '../../http/auth-context.js';
import type { SessionRef } from '../realtime/api.js';

/** A message as clients see it (join replies, `channel.message` events, history). */
export interface ChatMessage {
  channel: string;
  seq: number;
  sender_id: string;
  /** The sender's username now, or null (none set, or the player no longer exists). */
  username: string | null;
  /** Exactly one of text and data is present. */
  text?: string;
  data?: unknown;
  created_at: string;
}

/** Who may use the channels of one kind: today only `party` is registered by another module. */
export interface ChannelAccess {
  /** True when the player may join, send to and read `party:<id>` now (a current member). */
  mayUse(scope: ProjectScope, id: string, playerId: string): Promise<boolean>;
}

/**
 * The `messages` meter of the tenant's plan (the usage module plugs it in): called before each message is
 * stored; throws the `plan-limit` AppError when the plan's hard limit is reached.
 */
export interface MessageMeter {
  admit(scope: ProjectScope): Promise<void>;
}

export interface ChatApi {
  /**
   * Registers who may use `party:` channels (once). Until a module registers it, every `party:` id answers
   * not-found, as if the party did not exist.
   */
  registerChannelKind(kind: 'party', access: ChannelAccess): void;
  /**
   * Makes every session of the player leave the channel, on every node (a player who left its party leaves
   * the party's channel): the other members get the `channel.presence` leave.
   */
  removeMember(scope: ProjectScope, channel: string, playerId: string): Promise<void>;
  /**
   * Of these players, those who are members of a channel this session has joined (presence lets a session
   * follow them).
   */
  channelMates(session: SessionRef, playerIds: readonly string[]): Promise<Set<string>>;
  /** Adds a listener called, on the node where it happened, when a player's last session leaves a channel. */
  onMemberLeft(listener: (scope: ProjectScope, channel: string, playerId: string) => Promise<void> | void): void;
  /** Plugs in the plan's `messages` meter (one; a second call replaces it). Without one, sends are not metered. */
  useMessageMeter(meter: MessageMeter): void;
}

declare module '../contract.js' {
  interface Provisions {
    chat: ChatApi;
  }
}
