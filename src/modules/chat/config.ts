/** The chat module's environment variables (docs/api/chat.md); each error names its variable. */
import { defineSection, integer, type ConfigSection } from '../../internal/config/section.js';

export interface ChatConfig {
  /** Players one channel may hold at once (a project may override it). */
  maxMembers: number;
  /** Channels one realtime session may have joined at once (a project may override it). */
  maxJoined: number;
  /** Messages one player may send per minute, over every channel (a project may override it). */
  messagesPerMin: number;
  /** Days a stored message is kept (a project may override it). */
  retentionDays: number;
  /** How often messages past their retention are deleted (0: never). */
  purgeIntervalMs: number;
}

export const chatSection: ConfigSection<'chat', ChatConfig> = defineSection(
  'chat',
  'Chat',
  {
    maxMembers: integer('CHANNEL_MAX_MEMBERS', {
      default: 1000,
      min: 1,
      max: 100_000,
      perProject: true,
      doc: 'players one `room:` channel may hold at once (`channel.join` answers `limit-reached` beyond)',
    }),
    maxJoined: integer('CHANNEL_MAX_JOINED', {
      default: 50,
      min: 1,
      max: 1000,
      perProject: true,
      doc: 'channels one realtime session may have joined at once',
    }),
    messagesPerMin: integer('CHAT_MESSAGES_PER_MIN', {
      default: 60,
      min: 1,
      max: 1_000_000,
      perProject: true,
      doc: 'channel messages one player may send per minute (`rate-limited` beyond)',
    }),
    retentionDays: integer('CHAT_RETENTION_DAYS', {
      default: 30,
      min: 1,
      max: 3650,
      perProject: true,
      doc: 'days a channel message is kept before the retention purge deletes it',
    }),
    purgeIntervalSeconds: integer('CHAT_PURGE_INTERVAL_SECONDS', {
      default: 3600,
      min: 0,
      max: 86_400,
      doc: 'how often channel messages past their retention are deleted, in batches (`0`: never)',
    }),
  },
  ({ purgeIntervalSeconds, ...chat }) => ({ ...chat, purgeIntervalMs: purgeIntervalSeconds * 1000 }),
);
