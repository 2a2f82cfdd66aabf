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
  /**
   * Draining: how long past its `reconnect` delay a client is still served before its session is left in the
   * cache and its socket closed (1012); also how long a shutdown waits for clients to acknowledge a close.
   */
  closeGraceMs: number;
  /** How long a session whose connection ended may be resumed (0: sessions cannot be resumed). */
  resumeWindowMs: number;
  /** A session keeps at most this many of its latest events for a resume... */
  resumeBufferEvents: number;
  /** ...and at most this many bytes of them. */
  resumeBufferBytes: number;
  /** Draining spreads the clients' `reconnect` delays uniformly over 0 to this many ms. */
  reconnectSpreadMs: number;
}

const messagesPerSecond = integer('WS_MESSAGES_PER_SECOND', {
  default: 50,
  min: 1,
  max: 1_000_000,
  doc: 'per-connection message budget: messages per second a client may send on average',
});

export const realtimeSection: ConfigSection<'realtime', RealtimeConfig> = defineSection(
  'realtime',
  'Realtime',
  {
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
      doc: 'draining: how long past its `reconnect` delay a client is still served before the close (1012); also how long a shutdown waits for clients to acknowledge the close',
    }),
    resumeWindowSeconds: integer('WS_RESUME_WINDOW_SECONDS', {
      default: 30,
      min: 0,
      max: 3_600,
      doc: 'how long a session whose connection ended can be resumed, on any node sharing the cache (`0`: no resume)',
    }),
    resumeBufferEvents: integer('WS_RESUME_BUFFER_EVENTS', {
      default: 1_000,
      min: 0,
      max: 100_000,
      doc: "the latest events a session keeps for a resume (older ones make a resume from before them fail with `overflow`)",
    }),
    resumeBufferBytes: integer('WS_RESUME_BUFFER_BYTES', {
      default: 1_048_576,
      min: 0,
      max: 64 * 1_048_576,
      doc: 'the bytes of the latest events a session keeps for a resume',
    }),
    reconnectSpreadMs: integer('WS_RECONNECT_SPREAD_MS', {
      default: 2_000,
      min: 0,
      max: 600_000,
      doc: "draining: clients' `reconnect` delays are spread uniformly over 0 to this many ms",
    }),
  },
  ({ resumeWindowSeconds, ...realtime }) => ({ ...realtime, resumeWindowMs: resumeWindowSeconds * 1000 }),
);

export const loadRealtimeConfig = (env: Env): RealtimeConfig => realtimeSection.parse(env);
