/**
 * Channel ids as clients write them, and their canonical form: `room:<name>`, `dm:<a>:<b>` (a < b byte-wise;
 * `dm:<other>` names the caller's own dm with that player) and `party:<id>`. `group:` is reserved; anything
 * else is a validation error. Also the fan-out topic of a channel, which carries its tenant and project.
 */
import type { ProjectScope } from '../../http/auth-context.js';
import { validation } from '../../internal/errors/app-error.js';

export type Channel =
  | { kind: 'room'; id: string }
  | { kind: 'dm'; id: string; players: readonly [string, string] }
  | { kind: 'party'; id: string; partyId: string };

const ROOM = /^room:([A-Za-z0-9._-]{1,64})$/;
const DM = /^dm:([1-9][0-9]{0,17})(?::([1-9][0-9]{0,17}))?$/;
const PARTY = /^party:([A-Za-z0-9_-]{1,64})$/;
/** The longest id any form allows (`dm:` with two 18-digit ids). */
export const MAX_CHANNEL_ID = 128;

/** The dm channel of two players, canonical. */
export function dmChannel(a: string, b: string): Channel {
  const [low, high] = a < b ? [a, b] : [b, a];
  return { kind: 'dm', id: `dm:${low}:${high}`, players: [low, high] };
}

/**
 * Parses a channel id. `self` is the player the id is read for (`dm:<other>`); without one (a secret key)
 * only the two-player form names a dm. Throws validation for anything malformed, reserved, or a dm with oneself.
 */
export function parseChannel(raw: unknown, self: string | undefined): Channel {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > MAX_CHANNEL_ID) throw validation('channel must be a channel id (room:, dm: or party:).');
  if (raw.startsWith('group:')) throw validation('group: channels are reserved.');
  const room = ROOM.exec(raw);
  if (room) return { kind: 'room', id: raw };
  const party = PARTY.exec(raw);
  if (party) return { kind: 'party', id: raw, partyId: party[1]! };
  const dm = DM.exec(raw);
  if (dm) {
    const [first, second] = [dm[1]!, dm[2]];
    if (second === undefined) {
      if (self === undefined) throw validation('A secret key names a dm channel by both players: dm:<a>:<b>.');
      if (first === self) throw validation('A dm channel needs another player than oneself.');
      return dmChannel(self, first);
    }
    if (first === second) throw validation('A dm channel needs two different players.');
    return dmChannel(first, second);
  }
  throw validation('channel must be room:<name> (1-64 of A-Z a-z 0-9 . _ -), dm:<player id> or party:<party id>.');
}

/** What every channel topic starts with (realtime sequences the topics under one prefix). */
export const TOPIC_PREFIX = 'chat:';

/** The fan-out topic of a project's channel (the tenant as hash tag: one Redis Cluster slot per tenant). */
export function channelTopic(scope: ProjectScope, channel: string): string {
  return `${TOPIC_PREFIX}{${scope.tenantId}}:${scope.projectId}:${channel}`;
}

const TOPIC = /^chat:\{([0-9]+)\}:([0-9]+):(.+)$/;

/** The project and channel a topic belongs to (undefined for a topic that is not a channel's). */
export function topicChannel(topic: string): { scope: ProjectScope; channel: string } | undefined {
  const match = TOPIC.exec(topic);
  return match ? { scope: { tenantId: match[1]!, projectId: match[2]! }, channel: match[3]! } : undefined;
}
