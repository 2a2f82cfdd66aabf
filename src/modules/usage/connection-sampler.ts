/**
 * ccu_peak: every USAGE_SAMPLE_SECONDS this node counts the open WebSockets of each tenant and project it holds
 * a socket of, from the connection-cap lease sets (shared by every node through the cache backend, so a count
 * is the deployment's, not this node's), and keeps the hour's highest sample in memory for the next flush.
 *
 * Which sets: those this node holds a lease in. A tenant with a socket open anywhere is sampled by the node
 * holding it, with no registry to keep; several nodes sampling the same set combine by the highest
 * (greatest() on write). A tenant with no open socket has nothing to sample: its peak for the hour is 0.
 */
import { PeriodicJob } from '../../internal/jobs/periodic-job.js';
import type { Logger } from '../../internal/telemetry/logger.js';
import type { OpenCount } from '../realtime/api.js';
import type { UsageCounters } from './usage-counters.js';

export class ConnectionSampler extends PeriodicJob {
  constructor(
    private readonly openConnections: () => Promise<OpenCount[]>,
    private readonly counters: UsageCounters,
    logger: Logger,
    sampleMs: number,
  ) {
    super('usage.sample', sampleMs, logger);
  }

  /** One sample; a failed one (the cache away) is missed, and other samples of the hour, and other nodes', still count. */
  override async pass(): Promise<void> {
    for (const open of await this.openConnections()) this.counters.sampled(open.tenantId, open.projectId, open.count);
  }
}
