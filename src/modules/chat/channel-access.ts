/**
 * Who may use which channel: any player of the project a `room:`; the two players of a `dm:` (both must
 * exist; a block either way forbids joining and sending, with the same words whichever side blocked); the
 * current members of a `party:`, as the module that registered the party kind says (until one does, every
 * party id is unknown). Not visible means not found.
 */
import type { ProjectScope } from '../../http/auth-context.js';
import { forbidden, notFound } from '../../internal/errors/app-error.js';
import type { AuthApi } from '../auth/api.js';
import type { SocialApi } from '../social/api.js';
import type { ChannelAccess } from './api.js';
import { parseChannel, type Channel } from './channel-id.js';

export const BLOCKED_DM = 'Direct messages between these two players are not possible.';

export class ChannelRules {
  private party: ChannelAccess | undefined;

  constructor(
    private readonly players: AuthApi['players'],
    private readonly social: Pick<SocialApi, 'blockedEither'>,
  ) {}

  registerParty(access: ChannelAccess): void {
    if (this.party) throw new Error('chat: the party channel kind is already registered');
    this.party = access;
  }

  /** The channel a player names, if it may use it: `use` for joining and sending, `read` for history. */
  async forPlayer(scope: ProjectScope, raw: unknown, playerId: string, purpose: 'use' | 'read'): Promise<Channel> {
    const channel = parseChannel(raw, playerId);
    switch (channel.kind) {
      case 'room':
        return channel;
      case 'party':
        if (!this.party || !(await this.party.mayUse(scope, channel.partyId, playerId))) throw notFound('No such channel.');
        return channel;
      case 'dm': {
        const other = channel.players.find((id) => id !== playerId);
        if (other === undefined || !channel.players.includes(playerId)) throw notFound('No such channel.');
        if (!(await this.players.get(scope, other))) throw notFound('No such player in this project.');
        if (purpose === 'use' && (await this.social.blockedEither(scope, playerId, other))) throw forbidden(BLOCKED_DM);
        return channel;
      }
    }
  }

  /** The channel a secret key names (every channel of its project; a dm by both players). */
  forSecret(raw: unknown): Channel {
    return parseChannel(raw, undefined);
  }

  /** Whether a dm may still carry messages (a block after the join forbids sending). */
  async assertDmOpen(scope: ProjectScope, channel: Channel): Promise<void> {
    if (channel.kind === 'dm' && (await this.social.blockedEither(scope, channel.players[0], channel.players[1]))) throw forbidden(BLOCKED_DM);
  }
}
