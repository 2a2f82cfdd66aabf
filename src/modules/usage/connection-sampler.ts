/**
 * ccu_peak: every USAGE_SAMPLE_SECONDS this node counts the open WebSockets of each tenant and project it holds
 * a socket of, from the connection-cap lease sets (shared by every node through the cache backend, so a count
 * is the deployment's, not this node's), and keeps the hour's highest sample in memory for the next flush.
 *
 * Which sets: those this node holds a lease in. A tenant with a socket open anywhere is sampled by the node
 * holding it, with no registry to keep; several nodes sampling the same set combine by the highest
 * (greatest() on write). A tenant with no open socket has nothing to sample: its peak for the hour is 0.
 */
import type { Logger } from '../../internal/telemetry/logger.js';
import type { BackgroundJob } from '../contract.js';
import type { OpenCount } from '../realtime/api.js';
import type { UsageCounters } from './usage-counters.js';

export class ConnectionSampler implements BackgroundJob {
  readonly name = 'usage.sample';
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private lastWarning = 0;

  constructor(
    private readonly openConnections: () => Promise<OpenCount[]>,
    private readonly counters: UsageCounters,
    private readonly logger: Logger,
    private readonly sampleMs: number,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      // A sample still running (a slow cache) is not doubled: the next tick samples again.
      this.running ??= this.sample().finally(() => (this.running = undefined));
    }, this.sampleMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  async sample(): Promise<void> {
    try {
      for (const open of await this.openConnections()) this.counters.sampled(open.tenantId, open.projectId, open.count);
    } catch (error) {
      // The cache is away: this sample is missed (others of the hour, and other nodes', still count).
      if (Date.now() - this.lastWarning < 60_000) return;
      this.lastWarning = Date.now();
      this.logger.warn({ err: error }, 'usage: sampling open WebSockets failed');
    }
  }
}
