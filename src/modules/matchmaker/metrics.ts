/** Matchmaker metrics, on the app's registry. Labels are bounded (outcome): never a tenant, project or pool. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { AllocationOutcome } from './match-service.js';

export class MatchmakerMetrics {
  readonly passes: Counter;
  readonly matchesFormed: Counter;
  readonly allocations: Counter<'outcome'>;
  readonly timeToMatch: Histogram;
  /** Searching tickets the last pass of each pool read, summed over the pools this node passed last. */
  readonly searching: Gauge;

  constructor(registry: Registry) {
    this.passes = new Counter({ name: 'ggscale_matchmaker_passes_total', help: 'Matcher passes over all pools run by this node.', registers: [registry] });
    this.matchesFormed = new Counter({ name: 'ggscale_matchmaker_matches_total', help: 'Matches made (allocated and stored) by this node.', registers: [registry] });
    this.allocations = new Counter({
      name: 'ggscale_matchmaker_allocation_attempts_total',
      help: 'Allocation attempts for held groups, by outcome (matched, retry, dissolved, fleet-missing).',
      labelNames: ['outcome'],
      registers: [registry],
    });
    this.timeToMatch = new Histogram({
      name: 'ggscale_matchmaker_time_to_match_seconds',
      help: 'From a ticket created to its match stored.',
      buckets: [0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600],
      registers: [registry],
    });
    this.searching = new Gauge({ name: 'ggscale_matchmaker_tickets_searching', help: 'Searching tickets seen by the last pass over each pool (this node).', registers: [registry] });
  }

  allocation(outcome: AllocationOutcome): void {
    this.allocations.inc({ outcome });
  }
}
