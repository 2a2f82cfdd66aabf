/**
 * Allocations (/v1/fleet/allocations): reserve a slot of the fleet's quota (a Pending row), ask the
 * backend for a Ready game server, record it. A retry with the same Idempotency-Key within 24 h gets the
 * first answer back and changes nothing; failed attempts leave nothing behind, so they can be retried.
 */
import { createHash } from 'node:crypto';
import type { TenantScope } from '../../internal/db/database.js';
import { withoutDeadline } from '../../internal/deadline.js';
import { AppError, conflict, notFound, unavailable } from '../../internal/errors/app-error.js';
import type { Logger } from '../../internal/telemetry/logger.js';
import type { AllocationRecord, AllocationState, AllocationStore } from './allocation-store.js';
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

/** Key order must not make two equal requests differ. */
function canonical(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => [k, canonical(v)]));
}

export class AllocationService {
  constructor(
    private readonly store: AllocationStore,
    private readonly fleets: FleetService,
    private readonly backend: FleetBackend,
    private readonly metrics: FleetMetrics,
    private readonly logger: Logger,
  ) {}

  async allocate(scope: TenantScope, input: AllocateInput, idempotencyKey: string | undefined): Promise<{ allocation: AllocationRecord; replayed: boolean }> {
    const started = performance.now();
    let result: AllocationResult = 'error';
    try {
      const selector = checkLabels(input.labels, 'labels');
      const metadata = { labels: checkLabels(input.metadata?.labels, 'metadata.labels'), annotations: checkAnnotations(input.metadata?.annotations, 'metadata.annotations') };
      const fleet = await this.fleets.resolve(scope, input.fleet);
      if (fleet.backend !== this.backend.kind) {
        throw unavailable(`The fleet "${fleet.name}" runs on the ${fleet.backend} backend, which this ggscale does not run (FLEET_BACKEND=${this.backend.kind}).`, 30);
      }
      const requestHash = createHash('sha256').update(JSON.stringify(canonical({ fleet: input.fleet, labels: selector, metadata }))).digest();
      const reservation = await this.store.reserve(scope, { fleet, labels: selector, metadata, idempotencyKey, requestHash });
      if (reservation.kind === 'replay') {
        const first = reservation.allocation;
        if (!first.requestHash || !first.requestHash.equals(requestHash)) throw conflict('This Idempotency-Key was used with a different request.');
        if (first.state === 'Pending') throw conflict('A request with this Idempotency-Key is still in progress; retry it shortly.');
        result = 'replayed';
        // The first answer, as it was given.
        return { allocation: { ...first, state: 'Allocated', endedAt: null }, replayed: true };
      }
      const id = reservation.id;
      const outcome = await this.backend
        .allocate({ fleet: toSpec(fleet), allocationId: id, selector, metadata })
        .catch(async (error: unknown) => {
          // Also when the failure is this request's deadline: the reservation must not outlive it.
          await withoutDeadline(() => this.store.dropPending(scope, id)).catch(() => undefined);
          throw error;
        });
      if (outcome.kind === 'unallocated') {
        await this.store.dropPending(scope, id).catch(() => undefined);
        result = 'no_ready_server';
        throw unavailable(`No game server of the fleet "${fleet.name}" is ready (${outcome.reason}); retry shortly.`, outcome.retryAfterSeconds);
      }
      const server = outcome.gameServer;
      let allocation: AllocationRecord | undefined;
      try {
        allocation = await this.store.markAllocated(scope, id, server, this.backend.node, fleet.allocationTtlSeconds);
      } catch (error) {
        await this.releaseQuietly(server.name);
        await this.store.dropPending(scope, id).catch(() => undefined);
        throw error;
      }
      if (!allocation) {
        await this.releaseQuietly(server.name);
        throw notFound(`The fleet "${fleet.name}" was deleted.`);
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
