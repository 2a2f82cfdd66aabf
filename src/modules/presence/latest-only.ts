/**
 * Presence is "latest state wins", and one change may reach a session twice (a friend who also subscribed):
 * each session keeps, per player, the last presence it was sent, and drops a repeat of it.
 */
import type { RealtimeApi, RealtimeEvent, SessionRef } from '../realtime/api.js';

const STATE = 'presence.sent';

export function latestPresenceOnly(realtime: RealtimeApi): (session: SessionRef, event: RealtimeEvent) => boolean {
  return (session, event) => {
    if (event.op !== 'presence') return true;
    const presence = event.presence as { player_id: string; online: boolean; updated_at: string | null };
    const mark = `${presence.online}|${presence.updated_at}`;
    const sent = realtime.sessionState<Record<string, string>>(session, STATE) ?? {};
    if (sent[presence.player_id] === mark) return false;
    realtime.setSessionState(session, STATE, { ...sent, [presence.player_id]: mark });
    return true;
  };
}
