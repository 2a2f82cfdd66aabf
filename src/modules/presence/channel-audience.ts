/**
 * Members of a channel a session joined may be followed by it (they get no pushes unasked: a room may hold
 * a thousand players). When a player leaves a channel, its own sessions and the sessions following it check
 * their subscriptions again (one allowed only by that channel ends).
 */
import type { Logger } from '../../internal/telemetry/logger.js';
import type { ChatApi } from '../chat/api.js';
import type { RealtimeApi } from '../realtime/api.js';
import { PRESENCE_RECHECK_SIGNAL, type PresenceAudience } from './api.js';
import { presenceTopic } from './presence-service.js';

export function channelAudience(chat: ChatApi): PresenceAudience {
  return {
    audienceOf: async () => [],
    followable: (session, playerIds) => chat.channelMates(session, playerIds),
  };
}

export function recheckOnChannelLeave(chat: ChatApi, realtime: RealtimeApi, logger: Logger): void {
  chat.onMemberLeft(async (scope, _channel, playerId) => {
    const signal = { type: PRESENCE_RECHECK_SIGNAL };
    await Promise.all([realtime.signal(scope, [playerId], signal), realtime.signalTopic(presenceTopic(scope, playerId), signal)]).catch((error: unknown) =>
      logger.warn({ err: error }, 'presence: could not signal a channel leave'),
    );
  });
}
