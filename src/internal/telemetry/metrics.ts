/**
 * Prometheus metrics. One registry per app (tests build several apps in one process). Label values are
 * bounded: route templates, never raw URLs or tenant ids.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { PoolStats } from '../db/database.js';

export class Metrics {
  readonly registry = new Registry();
  readonly httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  readonly rateLimited: Counter<'route' | 'reason'>;
  readonly cacheFallback: Counter;
  private poolSource: () => PoolStats | undefined = () => undefined;

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics ?? true) this.processMetrics();
    this.httpDuration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration by method, route template and status code.',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
    this.rateLimited = new Counter({
      name: 'ggscale_rate_limited_total',
      help: 'Requests refused by a rate limit, by route template and budget.',
      labelNames: ['route', 'reason'],
      registers: [this.registry],
    });
    this.cacheFallback = new Counter({
      name: 'ggscale_cache_fallback_total',
      help: 'Decisions taken on the per-node fallback because the shared cache backend was unreachable.',
      registers: [this.registry],
    });
    const readPool = () => this.poolSource();
    new Gauge({
      name: 'ggscale_db_pool_max',
      help: 'Largest number of database connections (1 on the embedded database: one session).',
      registers: [this.registry],
      collect() {
        this.set(readPool()?.max ?? 0);
      },
    });
    new Gauge({
      name: 'ggscale_db_pool_in_use',
      help: 'Database connections currently running a transaction.',
      registers: [this.registry],
      collect() {
        this.set(readPool()?.inUse ?? 0);
      },
    });
    new Gauge({
      name: 'ggscale_db_pool_waiting',
      help: 'Transactions waiting for a database connection.',
      registers: [this.registry],
      collect() {
        this.set(readPool()?.waiting ?? 0);
      },
    });
  }

  /**
   * prom-client's defaults, less three gauges whose names end in _total (promtool rejects the suffix on
   * non-counters); the same counts stay available, by type, as nodejs_active_{handles,requests,resources}.
   */
  private processMetrics(): void {
    collectDefaultMetrics({ register: this.registry });
    for (const what of ['handles', 'requests', 'resources']) this.registry.removeSingleMetric(`nodejs_active_${what}_total`);
  }

  /** The pool is opened after the server listens: gauges read it when scraped. */
  observePool(source: () => PoolStats | undefined): void {
    this.poolSource = source;
  }
}
