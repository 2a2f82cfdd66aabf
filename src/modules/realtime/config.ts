/**
 * Realtime (WebSocket) settings. The connection caps themselves (WS_MAX_CONNECTIONS_PER_TENANT / _PER_PLAYER)
 * are limits and live in config.limits, next to the other budgets that projects may override.
 */
import { integer, type Env } from '../../internal/config/parse.js';

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

export function loadRealtimeConfig(env: Env): RealtimeConfig {
  const messagesPerSecond = integer(env, 'WS_MESSAGES_PER_SECOND', 50, 1, 1_000_000);
  const messageBurst = integer(env, 'WS_MESSAGE_BURST', messagesPerSecond * 2, 1, 10_000_000);
  const leaseTtlMs = integer(env, 'WS_LEASE_TTL_MS', 20_000, 1_000, 30_000);
  const heartbeatMs = integer(env, 'WS_HEARTBEAT_MS', 15_000, 100, 600_000);
  return {
    maxMessageBytes: integer(env, 'WS_MAX_MESSAGE_BYTES', 65_536, 256, 16 * 1024 * 1024),
    messagesPerSecond,
    messageBurst,
    refusalsBeforeClose: integer(env, 'WS_MESSAGE_REFUSALS_BEFORE_CLOSE', 100, 0, 10_000_000),
    heartbeatMs,
    leaseTtlMs,
    closeGraceMs: integer(env, 'WS_CLOSE_GRACE_MS', 2_000, 0, 60_000),
  };
}
