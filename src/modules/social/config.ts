/** The social module's environment variables (docs/api/social.md); every one a project may override. */
import { defineSection, integer, type ConfigSection } from '../../internal/config/section.js';

export interface SocialConfig {
  /** Relations in `friend` and `invite_sent` together one player may hold. */
  friendsMax: number;
  /** Requests one player may have waiting for its answer (`invite_received`). */
  friendRequestsPendingMax: number;
  /** Players one player may block. */
  blocksMax: number;
  /** Friend requests one player may send per hour (a rate-limit budget). */
  friendRequestsPerHour: number;
}

export const socialSection: ConfigSection<'social', SocialConfig> = defineSection('social', 'Social graph', {
  friendsMax: integer('FRIENDS_MAX', {
    default: 500,
    min: 1,
    max: 100_000,
    perProject: true,
    doc: 'relations one player may hold in `friend` and `invite_sent` together; a request or accept past it is `409 limit-reached`',
  }),
  friendRequestsPendingMax: integer('FRIEND_REQUESTS_PENDING_MAX', {
    default: 100,
    min: 1,
    max: 100_000,
    perProject: true,
    doc: 'friend requests one player may have waiting for its answer; a request to a player at it is `409 limit-reached`',
  }),
  blocksMax: integer('BLOCKS_MAX', {
    default: 1000,
    min: 1,
    max: 100_000,
    perProject: true,
    doc: 'players one player may block; a block past it is `409 limit-reached`',
  }),
  friendRequestsPerHour: integer('FRIEND_REQUESTS_PER_HOUR', {
    default: 30,
    min: 1,
    max: 1_000_000,
    perProject: true,
    doc: 'friend requests one player may send per hour (`POST /v1/friends/requests`); past it is `429 quota-exceeded`',
  }),
});
