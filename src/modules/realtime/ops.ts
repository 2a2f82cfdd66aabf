/**
 * The realtime message set, one handler per op. It starts with ping and grows with the realtime work
 * (presence, channels, parties, matchmaking, notifications): each new op is one entry here.
 */
import { replyFrame, type RealtimeRequest } from './envelope.js';
import type { PlayerIdentity } from './connection.js';

export interface OpContext {
  identity: PlayerIdentity;
}

/** Returns the frame to send back, if any. */
export type OpHandler = (request: RealtimeRequest, context: OpContext) => string | undefined;

// A Map, not an object: "__proto__" or "constructor" as an op must be unknown, not a prototype member.
export const ops = new Map<string, OpHandler>([['ping', (request) => replyFrame('pong', request.id)]]);
