/**
 * Keeps allocations and game servers telling the same story, on every node, every FLEET_SWEEP_INTERVAL_MS:
 * - allocations past their TTL become Expired and their game servers are released;
 * - an allocation whose game server died, vanished (e.g. with a crashed ggscale) or ended on its own
 *   becomes Lost or Ended — at once from the backend's watch, and by a periodic comparison as a backstop;
 * - a game server allocated for an allocation that is no longer live is released (no leaked servers);
 * - a Pending reservation left by a crash mid-allocation is dropped.
 * Sweeps cross tenants, so they run on the operator path. They are idempotent: several nodes may run them.
 */
import { AppError } from '../../internal/errors/app-error.js';
import type { Logger } from '../../internal/telemetry/logger.js';
import type { AllocationStore, EndedState, LiveAllocation } from './allocation-store.js';
import type { FleetService } from './fleet-service.js';
import { ALLOCATION_LABEL } from './labels.js';
import type { FleetMetrics } from './metrics.js';
import { GONE_STATES, type FleetBackend, type GameServerEvent, type GameServerView } from './types.js';

export interface ReconcilerOptions {
  intervalMs: number;
  /** A Pending row older than this was abandoned by a crash. */
  pendingTimeoutMs: number;
  /** How long a fresh allocation whose server looks re-allocated or Ready is left alone (a watch may lag). */
  graceMs: number;
  /** How often the local backend reloads the registered fleets. */
  fleetSyncMs?: number;
}

const ALLOCATION_ID = /^[1-9][0-9]{0,17}$/;

/** What a game server's state says about the allocation it carries. */
function endedBy(server: GameServerView | undefined, allocationId: string): EndedState | undefined {
  if (!server) return 'Lost';
  if (server.state === 'Unhealthy' || server.state === 'Error') return 'Lost';
  if (server.state === 'Shutdown') return 'Ended';
  if (server.labels[ALLOCATION_LABEL] !== allocationId || server.state === 'Ready') return 'Ended';
  return undefined;
}

export class Reconciler {
  readonly name = 'fleet.reconciler';
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private unsubscribe: (() => void) | undefined;
  private lastFleetSync = 0;
  /** Allocations whose server looked dead on the last pass, and what they would end as. */
  private deadSuspects = new Map<string, EndedState>();
  /** Servers (name/allocation) that looked leaked on the last pass. */
  private leakSuspects = new Set<string>();
  private stopped = false;
  private events: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: AllocationStore,
    private readonly fleets: FleetService,
    private readonly backend: FleetBackend,
    private readonly metrics: FleetMetrics,
    private readonly logger: Logger,
    private readonly options: ReconcilerOptions,
  ) {}

  start(): void {
    this.unsubscribe = this.backend.watch((event) => this.onEvent(event));
    this.timer = setInterval(() => void this.tick(), this.options.intervalMs);
    this.timer.unref();
    void this.tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.unsubscribe?.();
    await this.running;
    await this.events;
  }

  /** Runs one pass now (tests and shutdown); concurrent calls share the pass in flight. */
  tick(): Promise<void> {
    if (this.running) return this.running;
    this.running = this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  /** After the local backend stopped its processes: this node's allocations point at nothing now. */
  async markNodeLost(): Promise<void> {
    if (this.backend.node === null) return;
    const live = await this.store.live(this.backend.kind, this.backend.node);
    for (const row of live) if (row.state === 'Allocated' && row.gameServer) await this.end(row.id, row.gameServer, 'Lost');
  }

  private onEvent({ type, gameServer }: GameServerEvent): void {
    if (this.stopped) return;
    const id = gameServer.labels[ALLOCATION_LABEL];
    if (id === undefined || !ALLOCATION_ID.test(id)) return;
    // A server deleted while it still served (or after it turned Unhealthy) was lost; one deleted after it
    // shut down or went back to Ready had ended.
    const ended =
      type === 'DELETED' ? (['Allocated', 'Reserved', 'Unhealthy', 'Error'].includes(gameServer.state) ? 'Lost' : 'Ended') : endedBy(gameServer, id);
    if (!ended) return;
    // In order: a later event about the same server must not overtake an earlier one.
    this.events = this.events
      .then(() => this.end(id, gameServer.name, ended))
      .catch((error: unknown) => this.logger.debug({ err: error }, 'ending an allocation failed; the sweep will retry'));
  }

  private async end(id: string, gameServer: string, state: EndedState): Promise<void> {
    if (await this.store.end(id, gameServer, state)) {
      this.metrics.allocationEnded(state);
      this.logger.info({ allocation_id: id, game_server: gameServer, state }, 'allocation ended');
    }
  }

  private async pass(): Promise<void> {
    try {
      await this.expire();
      await this.reconcile();
      if (this.backend.kind === 'local' && Date.now() - this.lastFleetSync >= (this.options.fleetSyncMs ?? 30_000)) {
        await this.fleets.syncLocal();
        this.lastFleetSync = Date.now();
      }
    } catch (error) {
      // The database may still be starting (503) or briefly away: the next pass tries again.
      if (error instanceof AppError && error.slug === 'unavailable') this.logger.debug({ err: error }, 'fleet sweep skipped');
      else this.logger.warn({ err: error }, 'fleet sweep failed');
    }
  }

  private async expire(): Promise<void> {
    const due = await this.store.expireDue(200);
    if (due.length === 0) return;
    this.metrics.allocationEnded('Expired', due.length);
    this.logger.info({ count: due.length }, 'allocations expired');
    await Promise.all(
      due
        .filter((row) => row.backend === this.backend.kind)
        .map((row) => this.backend.release(row.gameServer).catch((error: unknown) => this.logger.warn({ err: error, game_server: row.gameServer }, 'release of an expired allocation failed; retrying later'))),
    );
  }

  private async reconcile(): Promise<void> {
    // Servers seen before the rows were read carry only allocations whose rows existed then (a row is
    // inserted Pending before its server is allocated); rows are checked against servers seen after, so a
    // server allocated meanwhile is not missed. A view can lag behind (a watch), so nothing is ended or
    // released on one sighting: only when a second pass sees the same.
    const before = this.backend.snapshot();
    if (!before) return;
    const live = await this.store.live(this.backend.kind, this.backend.node);
    const after = this.backend.snapshot();
    if (!after) return;
    const byName = new Map(after.map((server) => [server.name, server]));
    const liveIds = new Set(live.map((row) => row.id));

    const deadSuspects = new Map<string, EndedState>();
    for (const row of live) {
      if (row.state === 'Pending') {
        await this.dropAbandoned(row, after);
        continue;
      }
      if (!row.gameServer) continue;
      const server = byName.get(row.gameServer);
      const ended = endedBy(server, row.id);
      if (!ended) continue;
      // A server still up but showing another allocation (or Ready) may be a watch that has not caught up.
      if (server && !GONE_STATES.has(server.state) && (row.allocatedAgeMs ?? 0) < this.options.graceMs) continue;
      if (this.deadSuspects.get(row.id) === ended) await this.end(row.id, row.gameServer, ended);
      else deadSuspects.set(row.id, ended);
    }
    this.deadSuspects = deadSuspects;

    const candidates = before.filter((server) => server.state === 'Allocated' && ALLOCATION_ID.test(server.labels[ALLOCATION_LABEL] ?? '') && !liveIds.has(server.labels[ALLOCATION_LABEL]!));
    // Rows of other nodes (local) or rows created after the read are not leaks: ask the database once more.
    const stillLive = await this.store.liveAmong(candidates.map((server) => server.labels[ALLOCATION_LABEL]!));
    const leakSuspects = new Set<string>();
    for (const server of candidates) {
      const key = `${server.name}/${server.labels[ALLOCATION_LABEL]}`;
      if (stillLive.has(server.labels[ALLOCATION_LABEL]!)) continue;
      if (!this.leakSuspects.has(key)) {
        leakSuspects.add(key);
        continue;
      }
      this.logger.warn({ game_server: server.name, allocation_id: server.labels[ALLOCATION_LABEL] }, 'releasing a game server no live allocation points at');
      await this.backend.release(server.name).catch((error: unknown) => this.logger.warn({ err: error, game_server: server.name }, 'release failed; retrying later'));
    }
    this.leakSuspects = leakSuspects;
  }

  private async dropAbandoned(row: LiveAllocation, servers: GameServerView[]): Promise<void> {
    if (row.ageMs < this.options.pendingTimeoutMs) return;
    await this.store.dropStalePending(row.id);
    this.logger.warn({ allocation_id: row.id }, 'dropped an allocation abandoned mid-way');
    for (const server of servers) {
      if (server.labels[ALLOCATION_LABEL] === row.id && server.state === 'Allocated') await this.backend.release(server.name).catch(() => undefined);
    }
  }
}
