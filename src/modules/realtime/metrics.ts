/** Realtime metrics on the app's registry. Labels stay bounded: reasons are a fixed set, never tenant ids. */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { CapRefusal } from './connection-caps.js';

const REASON_BY_STATUS: Record<number, string> = {
  400: 'bad-request',
  401: 'unauthorized',
  403: 'forbidden',
  429: 'rate-limited',
  503: 'unavailable',
};

export class RealtimeMetrics {
  readonly rejected: Counter<'reason'>;

  constructor(registry: Registry, openConnections: () => number) {
    new Gauge({
      name: 'ggscale_ws_connections',
      help: 'WebSocket connections open on this node.',
      registers: [registry],
      collect() {
        this.set(openConnections());
      },
    });
    this.rejected = new Counter({
      name: 'ggscale_ws_rejected_total',
      help: 'WebSocket upgrades refused before the upgrade, by reason (unauthorized, forbidden, player-cap, tenant-cap, rate-limited, bad-request, unavailable, other).',
      labelNames: ['reason'],
      registers: [registry],
    });
    // Present from the start, so a dashboard sees 0 rather than no series.
    for (const reason of ['player-cap', 'tenant-cap'] satisfies CapRefusal[]) this.rejected.inc({ reason }, 0);
  }

  /** A refused upgrade, by the status it was answered with (caps name themselves: both are 429s). */
  refused(status: number, capRefusal: CapRefusal | undefined): void {
    this.rejected.inc({ reason: capRefusal ?? REASON_BY_STATUS[status] ?? 'other' });
  }
}
