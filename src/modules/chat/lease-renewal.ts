/**
 * Renews the channel leases of the sessions this node holds (detached ones included), every third of the
 * lease ttl, so a channel's members stay listed while their sessions live and vanish within the ttl when
 * their node dies.
 */
import { PeriodicJob } from '../../internal/jobs/periodic-job.js';
import type { Logger } from '../../internal/telemetry/logger.js';
import type { LocalSessions } from './local-sessions.js';
import type { Membership } from './membership.js';

export class LeaseRenewal extends PeriodicJob {
  constructor(
    private readonly sessions: LocalSessions,
    private readonly membership: Membership,
    logger: Logger,
    intervalMs: number,
  ) {
    super('chat.lease-renewal', intervalMs, logger);
  }

  async pass(): Promise<number> {
    let renewed = 0;
    for (const entry of this.sessions.live()) {
      for (const channel of entry.channels) {
        await this.membership.keepAlive(entry.scope, channel, entry.ref.playerId, entry.ref.key);
        renewed++;
      }
    }
    return renewed;
  }
}
