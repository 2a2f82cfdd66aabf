/** Realtime metrics on the app's registry. Labels stay bounded: reasons are a fixed set, never tenant ids. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
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
  readonly eventsDelivered: Counter;
  readonly fanoutLatency: Histogram;
  readonly resumes: Counter<'outcome'>;

  constructor(registry: Registry, openConnections: () => number, subscribedTopics: () => number, liveSessions: () => number) {
    this.resumes = new Counter({
      name: 'ggscale_ws_resumes_total',
      help: 'Session resumes on this node, by outcome (resumed, unknown, expired, overflow, unavailable).',
      labelNames: ['outcome'],
      registers: [registry],
    });
    for (const outcome of ['resumed', 'unknown', 'expired', 'overflow', 'unavailable']) this.resumes.inc({ outcome }, 0);
    new Gauge({
      name: 'ggscale_ws_sessions',
      help: 'Realtime sessions held by this node, attached to a connection or detached within their resume window.',
      registers: [registry],
      collect() {
        this.set(liveSessions());
      },
    });
    this.eventsDelivered = new Counter({
      name: 'ggscale_ws_events_delivered_total',
      help: 'Realtime events sent to connections of this node.',
      registers: [registry],
    });
    this.fanoutLatency = new Histogram({
      name: 'ggscale_ws_fanout_latency_seconds',
      help: 'From an event\'s publish (on any node) to its arrival on this node.',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    });
    new Gauge({
      name: 'ggscale_ws_fanout_topics',
      help: 'Fan-out topics this node is subscribed to (players, channels and parties with a connection here).',
      registers: [registry],
      collect() {
        this.set(subscribedTopics());
      },
    });
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
