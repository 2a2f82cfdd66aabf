/**
 * Request budgets on the cache backend (one atomic round trip per decision on Redis, shared by all nodes).
 * Every checked answer carries the IETF RateLimit-Policy / RateLimit fields; over budget is 429 with
 * Retry-After. When the shared backend fails, ordinary budgets fall back to a per-node budget (fail open,
 * logged and counted) and budgets marked failClosed answer 503 (sign-in routes).
 */
import type { FastifyReply } from 'fastify';
import type { CacheBackend, WindowDecision } from '../../internal/cache/cache.js';
import { AppError, unavailable } from '../../internal/errors/app-error.js';
import type { Logger } from '../../internal/telemetry/logger.js';
import type { Metrics } from '../../internal/telemetry/metrics.js';

export interface Budget {
  /** The policy name in the RateLimit fields and the metric's reason label. */
  name: string;
  /** Cache key, built from the authenticated context (never from client input alone). */
  key: string;
  limit: number;
  windowMs: number;
  /** Refuse with 503 when the shared backend is down, rather than falling back to a per-node budget. */
  failClosed?: boolean;
}

export class RateLimiter {
  private lastFallbackLog = 0;

  constructor(
    private readonly shared: CacheBackend,
    /** A per-node memory backend for the fallback (the same object as `shared` on the memory backend). */
    private readonly local: CacheBackend,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {}

  private async decide(budget: Budget, op: 'hit' | 'peek'): Promise<WindowDecision> {
    try {
      return op === 'hit'
        ? await this.shared.hit(budget.key, budget.limit, budget.windowMs)
        : await this.shared.peek(budget.key, budget.limit, budget.windowMs);
    } catch (error) {
      if (this.shared === this.local) throw error;
      this.metrics.cacheFallback.inc();
      if (Date.now() - this.lastFallbackLog > 10_000) {
        this.lastFallbackLog = Date.now();
        this.logger.warn({ err: error, budget: budget.name, fail_closed: budget.failClosed === true }, 'rate-limit backend unreachable');
      }
      if (budget.failClosed) throw unavailable('Sign-in is briefly unavailable; try again shortly.', 2);
      return op === 'hit'
        ? this.local.hit(budget.key, budget.limit, budget.windowMs)
        : this.local.peek(budget.key, budget.limit, budget.windowMs);
    }
  }

  /** Counts one hit against each budget (in order) and refuses with 429 at the first one exhausted. */
  async consume(reply: FastifyReply, budgets: Budget[]): Promise<void> {
    for (const budget of budgets) await this.consumeOne(reply, budget);
  }

  /**
   * Counts one hit against one budget and refuses with 429 when it is exhausted. With the backend in this
   * process it decides synchronously (no promise on the request path); otherwise it returns the promise.
   */
  consumeOne(reply: FastifyReply, budget: Budget): void | Promise<void> {
    if (budget.limit <= 0) return; // 0 disables a budget
    if (this.shared.hitNow) return this.settle(reply, budget, this.shared.hitNow(budget.key, budget.limit, budget.windowMs));
    return this.decide(budget, 'hit').then((decision) => this.settle(reply, budget, decision));
  }

  private settle(reply: FastifyReply, budget: Budget, decision: WindowDecision): void {
    this.announce(reply, budget, decision);
    if (!decision.allowed) this.refuse(reply, budget, decision);
  }

  /** Refuses with 429 if the budget is already spent, without counting (failed-login budgets). */
  async ensureAvailable(reply: FastifyReply, budget: Budget): Promise<void> {
    if (budget.limit <= 0) return;
    const decision = await this.decide(budget, 'peek');
    if (decision.remaining <= 0) {
      this.announce(reply, budget, decision);
      this.refuse(reply, budget, { ...decision, allowed: false });
    }
  }

  /** True when nothing has been counted against the budget in its window. */
  async isUntouched(budget: Budget): Promise<boolean> {
    if (budget.limit <= 0) return true;
    return (await this.decide(budget, 'peek')).remaining >= budget.limit;
  }

  /**
   * Counts one hit against a budget and answers the decision, for callers that are not HTTP routes (realtime
   * ops answer a refusal with a `rate-limited` error frame). A budget of 0 always allows.
   */
  async take(budget: Budget): Promise<WindowDecision> {
    if (budget.limit <= 0) return { allowed: true, remaining: Number.MAX_SAFE_INTEGER, retryAfterMs: 0, resetMs: 0 };
    return this.shared.hitNow ? this.shared.hitNow(budget.key, budget.limit, budget.windowMs) : this.decide(budget, 'hit');
  }

  /** Counts a hit without refusing (a failed login is recorded after the fact). */
  async record(budget: Budget): Promise<void> {
    if (budget.limit <= 0) return;
    await this.decide(budget, 'hit').catch(() => undefined);
  }

  private announce(reply: FastifyReply, budget: Budget, decision: WindowDecision): void {
    const window = Math.ceil(budget.windowMs / 1000);
    reply.header('ratelimit-policy', `"${budget.name}";q=${budget.limit};w=${window}`);
    reply.header('ratelimit', `"${budget.name}";r=${Math.max(0, decision.remaining)};t=${Math.ceil(decision.resetMs / 1000)}`);
  }

  private refuse(reply: FastifyReply, budget: Budget, decision: WindowDecision): never {
    // The route template only here: building routeOptions costs something on every allowed request.
    this.metrics.rateLimited.inc({ route: reply.request.routeOptions.url ?? 'unmatched', reason: budget.name });
    throw new AppError('quota-exceeded', `The "${budget.name}" budget is spent; retry after the delay in Retry-After.`, {
      retryAfterSeconds: Math.max(1, Math.ceil(decision.retryAfterMs / 1000)),
    });
  }
}
