/**
 * Realtime (WebSocket) settings. The connection caps themselves (WS_MAX_CONNECTIONS_PER_TENANT / _PER_PLAYER)
 * are limits and live in config.limits, next to the other budgets that projects may override.
 */
import { integer as parseInteger, type Env } from '../../internal/config/parse.js';
import { custom, defineSection, integer, type ConfigSection } from '../../internal/config/section.js';

export interface RealtimeConfig {
  /** Largest frame a client may send; a bigger one closes the socket with 1009 (ws' maxPayload). */
  maxMessageBytes: number;
  /** Per-connection message budget: a token bucket refilled at this rate... */
  messagesPerSecond: number;
  /** ...holding at most this many messages (the burst a client may send at once). */
  messageBurst: number;
  /** Refused messages tolerated within 10 s before the socket is closed with 1008 (persistent abuse). */
  refusalsBeforeClose: number;
  /** Server ping period; a peer that has not answered the previous ping by the next one is terminated. */
  heartbeatMs: number;
  /**
   * Expiry of a connection's cap leases in the shared cache; each node renews its leases every third of it.
   * A node that dies without closing its sockets gives their slots back after at most this long.
   */
  leaseTtlMs: number;
  /** How long a graceful shutdown waits for clients to acknowledge the 1001 close before cutting them. */
  closeGraceMs: number;
}

const messagesPerSecond = integer('WS_MESSAGES_PER_SECOND', {
  default: 50,
  min: 1,
  max: 1_000_000,
  doc: 'per-connection message budget: messages per second a client may send on average',
});

export const realtimeSection: ConfigSection<'realtime', RealtimeConfig> = defineSection('realtime', 'Realtime', {
  maxMessageBytes: integer('WS_MAX_MESSAGE_BYTES', {
    default: 65_536,
    min: 256,
    max: 16 * 1024 * 1024,
    doc: 'largest realtime frame (beyond: close 1009)',
  }),
  messagesPerSecond,
  messageBurst: custom('WS_MESSAGE_BURST', {
    reads: [messagesPerSecond.name],
    defaultDoc: 'twice `WS_MESSAGES_PER_SECOND`',
    doc: 'messages a client may send at once',
    parse: (env) => parseInteger(env, 'WS_MESSAGE_BURST', messagesPerSecond.parse(env) * 2, 1, 10_000_000),
  }),
  refusalsBeforeClose: integer('WS_MESSAGE_REFUSALS_BEFORE_CLOSE', {
    default: 100,
    min: 0,
    max: 10_000_000,
    doc: 'refused messages within 10 s before the socket is closed with 1008 (persistent flooding)',
  }),
  heartbeatMs: integer('WS_HEARTBEAT_MS', {
    default: 15_000,
    min: 100,
    max: 600_000,
    doc: 'ping interval; a peer that has not answered the previous ping by the next one is cut',
  }),
  leaseTtlMs: integer('WS_LEASE_TTL_MS', {
    default: 20_000,
    min: 1_000,
    max: 30_000,
    doc: "connection-slot lease in the shared cache (a dead node's slots return within it)",
  }),
  closeGraceMs: integer('WS_CLOSE_GRACE_MS', {
    default: 2_000,
    min: 0,
    max: 60_000,
    doc: 'how long a graceful shutdown waits for clients to acknowledge the close (1001)',
  }),
});

export const loadRealtimeConfig = (env: Env): RealtimeConfig => realtimeSection.parse(env);
