/**
 * Allocations (/v1/fleet/allocations): reserve a slot of the fleet's quota (a Pending row), ask the
 * backend for a Ready game server, record it. A retry with the same Idempotency-Key within 24 h gets the
 * first answer back and changes nothing; failed attempts leave nothing behind, so they can be retried.
 */
import type { ProjectScope } from '../../http/auth-context.js';
import type { TenantScope } from '../../internal/db/database.js';
import { withoutDeadline } from '../../internal/deadline.js';
import { AppError, conflict, notFound, unavailable } from '../../internal/errors/app-error.js';
import type { Logger } from '../../internal/telemetry/logger.js';
import { stillInProgress, type IdempotentRequest } from '../idempotency/api.js';
import type { AllocationRecord, AllocationState, AllocationStore, Attempt } from './allocation-store.js';
import type { FleetService } from './fleet-service.js';
import { toSpec } from './fleet-store.js';
import { checkAnnotations, checkLabels, type Labels } from './labels.js';
import type { AllocationResult, FleetMetrics } from './metrics.js';
import type { FleetBackend } from './types.js';

export interface AllocateInput {
  fleet: string;
  labels?: Labels;
  metadata?: { labels?: Labels; annotations?: Labels };
}

const RESULT_OF_SLUG: Partial<Record<string, AllocationResult>> = {
  'not-found': 'not_found',
  'quota-exceeded': 'quota_exceeded',
  validation: 'invalid',
  conflict: 'invalid',
};

export class AllocationService {
  constructor(
    private readonly store: AllocationStore,
    private readonly fleets: FleetService,
    private readonly backend: FleetBackend,
    private readonly metrics: FleetMetrics,
    private readonly logger: Logger,
  ) {}

  /**
   * `reserved`: labels and annotations under ggscale.dev/ that ggscale itself puts on the game server (the
   * matchmaker's match, pool and players), added after the client's own are checked; never from a client.
   */
  async allocate(
    scope: ProjectScope,
    input: AllocateInput,
    idempotencyKey: string | undefined,
    reserved: { labels: Labels; annotations: Labels } = { labels: {}, annotations: {} },
  ): Promise<{ allocation: AllocationRecord; replayed: boolean }> {
    const started = performance.now();
    let result: AllocationResult = 'error';
    try {
      const selector = checkLabels(input.labels, 'labels');
      const metadata = {
        labels: { ...checkLabels(input.metadata?.labels, 'metadata.labels'), ...reserved.labels },
        annotations: { ...checkAnnotations(input.metadata?.annotations, 'metadata.annotations'), ...reserved.annotations },
      };
      const fleet = await this.fleets.resolve(scope, input.fleet);
      if (fleet.backend !== this.backend.kind) {
        throw unavailable(`The fleet "${fleet.name}" runs on the ${fleet.backend} backend, which this ggscale does not run (FLEET_BACKEND=${this.backend.kind}).`, 30);
      }
      // Keys are per project (only secret keys reach allocations); the request as it was asked for.
      const idempotent: IdempotentRequest | undefined =
        idempotencyKey === undefined
          ? undefined
          : { operation: 'fleet.allocate', caller: 'project', key: idempotencyKey, request: { fleet: input.fleet, labels: selector, metadata } };
      const reservation = await this.store.reserve(scope, { fleet, labels: selector, metadata, idempotent });
      if (reservation.kind === 'in-progress') throw stillInProgress();
      if (reservation.kind === 'replay') {
        const first = await this.store.get(scope, reservation.allocationId);
        if (!first) throw conflict('The allocation this Idempotency-Key answered with no longer exists.');
        result = 'replayed';
        // The first answer, as it was given.
        return { allocation: { ...first, state: 'Allocated', endedAt: null }, replayed: true };
      }
      const attempt: Attempt = { id: reservation.id, ticket: reservation.ticket };
      // Also when the failure is this request's deadline: the reservation must not outlive it.
      const abandon = () => withoutDeadline(() => this.store.dropPending(scope, attempt)).catch(() => undefined);
      const outcome = await this.backend
        .allocate({ fleet: toSpec(fleet), allocationId: attempt.id, selector, metadata })
        .catch(async (error: unknown) => {
          await abandon();
          throw error;
        });
      if (outcome.kind === 'unallocated') {
        await abandon();
        result = 'no_ready_server';
        throw unavailable(`No game server of the fleet "${fleet.name}" is ready (${outcome.reason}); retry shortly.`, outcome.retryAfterSeconds);
      }
      const server = outcome.gameServer;
      let allocation: AllocationRecord | 'lost' | undefined;
      try {
        allocation = await this.store.markAllocated(scope, attempt, server, this.backend.node, fleet.allocationTtlSeconds);
      } catch (error) {
        await this.releaseQuietly(server.name);
        await abandon();
        throw error;
      }
      if (allocation === undefined || allocation === 'lost') {
        await this.releaseQuietly(server.name);
        await abandon();
        throw allocation === 'lost' ? stillInProgress() : notFound(`The fleet "${fleet.name}" was deleted.`);
      }
      result = 'allocated';
      return { allocation, replayed: false };
    } catch (error) {
      if (error instanceof AppError && result === 'error') result = RESULT_OF_SLUG[error.slug] ?? 'error';
      throw error;
    } finally {
      this.metrics.allocation(result, (performance.now() - started) / 1000);
    }
  }

  async get(scope: TenantScope, id: string): Promise<AllocationRecord> {
    const allocation = await this.store.get(scope, id);
    if (!allocation) throw notFound('The allocation does not exist.');
    return allocation;
  }

  async list(scope: TenantScope, q: { limit: number; before?: string; state?: AllocationState; fleet?: string }): Promise<AllocationRecord[]> {
    await this.fleets.ensureDefault(scope);
    return this.store.list(scope, q);
  }

  /** Ends the allocation and shuts its game server down; an allocation that already ended is fine. */
  async release(scope: TenantScope, id: string): Promise<void> {
    const claimed = await this.store.claimRelease(scope, id);
    if (claimed === undefined) throw notFound('The allocation does not exist.');
    if (claimed === null) return;
    this.metrics.allocationEnded('Released');
    // The row already says Released: if the backend fails now, the reconciler releases the leaked server.
    if (claimed.backend === this.backend.kind) await this.releaseQuietly(claimed.gameServer);
  }

  private async releaseQuietly(name: string): Promise<void> {
    await this.backend.release(name).catch((error: unknown) => this.logger.warn({ err: error, game_server: name }, 'release failed; the reconciler will retry'));
  }
}
