/**
 * Party members see each other's presence: a player's party is part of its audience, and a session may
 * follow the members of its own party. When members leave, the sessions of everyone involved check their
 * subscriptions again (one allowed only by the party ends).
 */
import type { ProjectScope } from '../../http/auth-context.js';
import type { Logger } from '../../internal/telemetry/logger.js';
import type { PartiesApi } from '../parties/api.js';
import type { RealtimeApi } from '../realtime/api.js';
import { PRESENCE_RECHECK_SIGNAL, type PresenceAudience } from './api.js';

export function partyAudience(parties: PartiesApi): PresenceAudience {
  const partyMembers = async (scope: ProjectScope, playerId: string): Promise<string[]> => {
    const partyId = await parties.partyOf(scope, playerId);
    return partyId === undefined ? [] : (await parties.membersOf(scope, partyId)).filter((id) => id !== playerId);
  };
  return {
    audienceOf: partyMembers,
    async followable(session, playerIds) {
      const members = new Set(await partyMembers(session, session.playerId));
      return new Set(playerIds.filter((id) => members.has(id)));
    },
  };
}

/** After members leave a party, its members and the leavers re-check what they follow. */
export function recheckOnPartyChange(parties: PartiesApi, realtime: RealtimeApi, logger: Logger): void {
  parties.onPartyChanged(async (scope, change) => {
    if (change.left.length === 0) return;
    const remaining = change.closed ? [] : await parties.membersOf(scope, change.partyId);
    await realtime
      .signal(scope, [...change.left, ...remaining], { type: PRESENCE_RECHECK_SIGNAL })
      .catch((error: unknown) => logger.warn({ err: error }, 'presence: could not signal a party change'));
  });
}
