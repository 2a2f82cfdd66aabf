/**
 * Fleet metrics, on the app's registry. Labels are bounded: backend, result, state, reason — never a
 * tenant, project or fleet name.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { EndedState } from './allocation-store.js';
import type { FleetBackend } from './types.js';

export type AllocationResult = 'allocated' | 'replayed' | 'not_found' | 'quota_exceeded' | 'no_ready_server' | 'invalid' | 'error';

export class FleetMetrics {
  private readonly allocations: Counter<'backend' | 'result'>;
  private readonly latency: Histogram<'backend' | 'result'>;
  private readonly ended: Counter<'backend' | 'reason'>;

  constructor(registry: Registry, private readonly backend: FleetBackend) {
    this.allocations = new Counter({
      name: 'ggscale_fleet_allocations_total',
      help: 'Game-server allocation requests, by backend and result.',
      labelNames: ['backend', 'result'],
      registers: [registry],
    });
    this.latency = new Histogram({
      name: 'ggscale_fleet_allocation_duration_seconds',
      help: 'Time to answer an allocation request, by backend and result.',
      labelNames: ['backend', 'result'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
    this.ended = new Counter({
      name: 'ggscale_fleet_allocations_ended_total',
      help: 'Allocations that ended, by backend and reason (Released, Expired, Ended, Lost).',
      labelNames: ['backend', 'reason'],
      registers: [registry],
    });
    const snapshot = () => backend.snapshot() ?? [];
    new Gauge({
      name: 'ggscale_fleet_ready_game_servers',
      help: 'Game servers Ready to be allocated (on the local backend: the warm buffers).',
      labelNames: ['backend'],
      registers: [registry],
      collect() {
        this.set({ backend: backend.kind }, snapshot().filter((gs) => gs.state === 'Ready').length);
      },
    });
    new Gauge({
      name: 'ggscale_fleet_game_servers',
      help: 'Game servers managed by ggscale, by backend and state.',
      labelNames: ['backend', 'state'],
      registers: [registry],
      collect() {
        this.reset();
        const counts = new Map<string, number>();
        for (const gs of snapshot()) counts.set(gs.state, (counts.get(gs.state) ?? 0) + 1);
        for (const [state, count] of counts) this.set({ backend: backend.kind, state }, count);
      },
    });
  }

  allocation(result: AllocationResult, seconds: number): void {
    this.allocations.inc({ backend: this.backend.kind, result });
    this.latency.observe({ backend: this.backend.kind, result }, seconds);
  }

  allocationEnded(reason: EndedState, count = 1): void {
    if (count > 0) this.ended.inc({ backend: this.backend.kind, reason }, count);
  }
}
