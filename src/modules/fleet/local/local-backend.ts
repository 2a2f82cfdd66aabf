/**
 * FLEET_BACKEND=local: game servers as processes on this host. Keeps a warm buffer of Ready servers for
 * each registered fleet (and only those) under one ceiling of processes, hands Ready servers to
 * allocations atomically (all in-memory, no await between the check and the change), makes an allocation
 * wait for a starting server when none is Ready, replaces servers that turn Unhealthy, and leaves no child
 * behind when ggscale stops.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../../../internal/telemetry/logger.js';
import type { LocalFleetConfig } from '../config.js';
import { ALLOCATION_LABEL, fleetSelector, matchesLabels } from '../labels.js';
import type {
  AllocationOutcome,
  AllocationRequest,
  FleetBackend,
  FleetSpec,
  GameServerEventType,
  GameServerListener,
  GameServerView,
} from '../types.js';
import { defaultGameServerCommand, gameServerEnv, resolveCommand } from './default-command.js';
import { LocalGameServer, type MatchTokenVerification } from './game-server-process.js';
import { findOrphans, killOrphans } from './orphans.js';
import { PortPool } from './port-pool.js';

export interface LocalBackendOptions {
  config: LocalFleetConfig;
  logger: Logger;
  /** The command of fleets that name none; default: the echo server shipped with ggscale. */
  defaultCommand?: string[];
  /** How match tokens verify, handed to each game server (see LocalGameServer). */
  matchTokens?: MatchTokenVerification;
}

interface Waiter {
  request: AllocationRequest;
  resolve(outcome: AllocationOutcome): void;
  timer: NodeJS.Timeout;
}

/** Warm buffers are refilled once no allocation came for this long. */
const REFILL_QUIET_MS = 100;

const allocated = (server: LocalGameServer): AllocationOutcome => ({ kind: 'allocated', gameServer: server.view() });
const unallocated = (reason: string): AllocationOutcome => ({ kind: 'unallocated', reason, retryAfterSeconds: 1 });

export class LocalBackend implements FleetBackend {
  readonly kind = 'local' as const;
  readonly node: string;
  private readonly servers = new Map<string, LocalGameServer>();
  private readonly fleets = new Map<string, FleetSpec>();
  private readonly waiters: Waiter[] = [];
  private readonly spawning = new Map<string, number>();
  private readonly listeners = new Set<GameServerListener>();
  private readonly ports: PortPool;
  private readonly defaultCommand: string[];
  private ticker: NodeJS.Timeout | undefined;
  private closed = false;
  private maintainQueued = false;
  private warnedNoPortAt = 0;
  private lastAllocationAt = 0;
  private refillTimer: NodeJS.Timeout | undefined;
  private readonly killAllNow = () => {
    for (const server of this.servers.values()) server.killNow();
  };

  constructor(private readonly options: LocalBackendOptions) {
    this.node = options.config.nodeId;
    this.ports = new PortPool(options.config.portRange.first, options.config.portRange.last);
    this.defaultCommand = options.defaultCommand ?? defaultGameServerCommand();
  }

  async start(): Promise<void> {
    const orphans = await findOrphans(this.node);
    if (orphans.length > 0) {
      this.options.logger.warn({ count: orphans.length, game_servers: orphans.slice(0, 20).map((o) => o.name) }, 'killing game servers left by a previous ggscale');
      killOrphans(orphans);
    }
    // If ggscale exits without closing the app (process.exit), no child may outlive it.
    process.on('exit', this.killAllNow);
    const { healthTimeoutMs, startTimeoutMs } = this.options.config;
    this.ticker = setInterval(() => this.checkHealth(), Math.max(50, Math.min(1000, Math.min(healthTimeoutMs, startTimeoutMs) / 4)));
    this.ticker.unref();
  }

  syncFleets(fleets: FleetSpec[]): void {
    const wanted = new Set(fleets.map((fleet) => fleet.fleetId));
    for (const fleetId of [...this.fleets.keys()]) if (!wanted.has(fleetId)) this.removeFleet(fleetId);
    for (const fleet of fleets) this.fleets.set(fleet.fleetId, fleet);
    this.maintain();
  }

  addFleet(fleet: FleetSpec): void {
    this.fleets.set(fleet.fleetId, fleet);
    this.maintain();
  }

  removeFleet(fleetId: string): void {
    this.fleets.delete(fleetId);
    for (const server of this.servers.values()) {
      if (server.fleet.fleetId === fleetId && server.state !== 'Allocated') server.shutdown('its fleet was deleted');
    }
    for (const waiter of this.waiters.filter((w) => w.request.fleet.fleetId === fleetId)) this.settle(waiter, unallocated('the fleet was deleted'));
  }

  async allocate(request: AllocationRequest): Promise<AllocationOutcome> {
    if (this.closed) return unallocated('ggscale is stopping');
    // A fleet that allocates is registered (it may have been created on another node).
    if (!this.fleets.has(request.fleet.fleetId)) this.fleets.set(request.fleet.fleetId, request.fleet);
    const ready = [...this.servers.values()].find((server) => this.fits(server, request));
    if (ready && ready.allocate(request.allocationId, request.metadata)) {
      this.lastAllocationAt = Date.now();
      this.maintain();
      return allocated(ready);
    }
    if (!matchesLabels(request.selector, fleetSelector(request.fleet))) return unallocated('no Ready game server has these labels');
    if (this.options.config.allocationWaitMs === 0) return unallocated('no game server is Ready');
    return new Promise<AllocationOutcome>((resolve) => {
      const waiter: Waiter = {
        request,
        resolve,
        timer: setTimeout(() => this.settle(waiter, unallocated('no game server became Ready in time')), this.options.config.allocationWaitMs),
      };
      this.waiters.push(waiter);
      this.maintain();
    });
  }

  async get(name: string): Promise<GameServerView | undefined> {
    return this.servers.get(name)?.view();
  }

  async list(fleet: FleetSpec): Promise<GameServerView[]> {
    return [...this.servers.values()].filter((server) => server.fleet.fleetId === fleet.fleetId).map((server) => server.view());
  }

  async release(name: string): Promise<void> {
    const server = this.servers.get(name);
    if (!server) return;
    server.shutdown('released');
    await server.exited;
  }

  watch(listener: GameServerListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  snapshot(): GameServerView[] {
    return [...this.servers.values()].map((server) => server.view());
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.ticker);
    clearTimeout(this.refillTimer);
    for (const waiter of [...this.waiters]) this.settle(waiter, unallocated('ggscale is stopping'));
    const servers = [...this.servers.values()];
    for (const server of servers) server.shutdown('ggscale is stopping');
    await Promise.all(servers.map((server) => server.exited));
    process.off('exit', this.killAllNow);
  }

  private fits(server: LocalGameServer, request: AllocationRequest): boolean {
    return server.fleet.fleetId === request.fleet.fleetId && server.state === 'Ready' && matchesLabels(request.selector, server.view().labels);
  }

  private settle(waiter: Waiter, outcome: AllocationOutcome): void {
    const index = this.waiters.indexOf(waiter);
    if (index < 0) return;
    this.waiters.splice(index, 1);
    clearTimeout(waiter.timer);
    waiter.resolve(outcome);
  }

  private onChange(server: LocalGameServer, type: GameServerEventType): void {
    const event = { type, gameServer: server.view() };
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.options.logger.error({ err: error }, 'game server listener failed');
      }
    }
    if (type === 'MODIFIED' && server.state === 'Ready') {
      // A server that just became Ready goes to the first allocation waiting for it.
      const waiter = this.waiters.find((w) => this.fits(server, w.request));
      if (waiter && server.allocate(waiter.request.allocationId, waiter.request.metadata)) this.settle(waiter, allocated(server));
    }
    this.maintain();
  }

  private onExit(server: LocalGameServer): void {
    this.servers.delete(server.name);
    // A server that died before it was ever Ready may have lost its port to another program.
    if (server.state === 'Unhealthy' && Date.now() - server.startedAt < 2_000) this.ports.rest(server.port);
    else this.ports.give(server.port);
    this.maintain();
  }

  private checkHealth(): void {
    const now = Date.now();
    const { startTimeoutMs, healthTimeoutMs } = this.options.config;
    for (const server of this.servers.values()) server.checkHealth(now, startTimeoutMs, healthTimeoutMs);
  }

  /** Coalesces the many triggers of one turn of the event loop into one pass. */
  private maintain(): void {
    if (this.maintainQueued || this.closed) return;
    this.maintainQueued = true;
    queueMicrotask(() => {
      this.maintainQueued = false;
      if (!this.closed) this.fill();
    });
  }

  /** Starts servers: first for waiting allocations (evicting idle servers of other fleets at the ceiling), then warm buffers. */
  private fill(): void {
    // Servers of a fleet that is gone, except those still serving an allocation (its release stops them).
    for (const server of this.servers.values()) {
      const serving = server.state === 'Allocated' && server.view().labels[ALLOCATION_LABEL] !== undefined;
      if (!server.isAlive || serving || this.wanted(server.fleet.fleetId)) continue;
      server.shutdown('its fleet is not registered');
    }
    const waiting = new Map<string, { fleet: FleetSpec; count: number }>();
    for (const { request } of this.waiters) {
      const entry = waiting.get(request.fleet.fleetId) ?? { fleet: request.fleet, count: 0 };
      entry.count++;
      waiting.set(request.fleet.fleetId, entry);
    }
    let shortfall = 0;
    for (const { fleet, count } of waiting.values()) {
      for (let missing = count - this.starting(fleet.fleetId); missing > 0; missing--) {
        if (this.room() > 0) this.spawn(fleet);
        else shortfall++;
      }
    }
    if (shortfall > 0) this.evictIdle(shortfall - this.terminating(), new Set(waiting.keys()));
    const { buffer } = this.options.config;
    // Refills wait for a burst of allocations to pass: a starting server takes a core for a moment, which
    // the next allocation of the burst would otherwise wait for.
    const quietIn = this.lastAllocationAt + REFILL_QUIET_MS - Date.now();
    if (quietIn > 0) {
      clearTimeout(this.refillTimer);
      this.refillTimer = setTimeout(() => this.maintain(), quietIn);
      this.refillTimer.unref();
      return;
    }
    for (let progress = buffer > 0; progress && this.room() > 0; ) {
      progress = false;
      for (const fleet of this.fleets.values()) {
        if (this.room() === 0) break;
        if (this.idle(fleet.fleetId) + this.starting(fleet.fleetId) < buffer) {
          this.spawn(fleet);
          progress = true;
        }
      }
    }
  }

  /** A fleet keeps servers while it is registered or an allocation waits for it. */
  private wanted(fleetId: string): boolean {
    return this.fleets.has(fleetId) || this.waiters.some((w) => w.request.fleet.fleetId === fleetId);
  }

  private room(): number {
    let pending = 0;
    for (const count of this.spawning.values()) pending += count;
    return Math.max(0, this.options.config.maxProcesses - this.servers.size - pending);
  }

  private count(fleetId: string, states: string[]): number {
    let n = 0;
    for (const server of this.servers.values()) if (server.fleet.fleetId === fleetId && states.includes(server.state)) n++;
    return n;
  }

  private starting(fleetId: string): number {
    return this.count(fleetId, ['Scheduled', 'RequestReady']) + (this.spawning.get(fleetId) ?? 0);
  }

  private idle(fleetId: string): number {
    return this.count(fleetId, ['Ready']);
  }

  private terminating(): number {
    return [...this.servers.values()].filter((server) => !server.isAlive).length;
  }

  /** Shuts down idle servers of fleets nobody is waiting for, the fleets with the most idle ones first. */
  private evictIdle(count: number, keep: Set<string>): void {
    for (let i = 0; i < count; i++) {
      const candidates = [...this.servers.values()].filter(
        (server) => !keep.has(server.fleet.fleetId) && (server.state === 'Ready' || server.state === 'Scheduled' || server.state === 'RequestReady'),
      );
      if (candidates.length === 0) return;
      const idleOf = (server: LocalGameServer) => this.idle(server.fleet.fleetId) + this.starting(server.fleet.fleetId);
      candidates.sort((a, b) => idleOf(b) - idleOf(a));
      candidates[0]!.shutdown('making room under FLEET_LOCAL_MAX_PROCESSES for a waiting allocation');
    }
  }

  private spawn(fleet: FleetSpec): void {
    this.spawning.set(fleet.fleetId, (this.spawning.get(fleet.fleetId) ?? 0) + 1);
    void (async () => {
      let port: number | undefined;
      try {
        port = await this.ports.take();
      } finally {
        const left = (this.spawning.get(fleet.fleetId) ?? 1) - 1;
        if (left > 0) this.spawning.set(fleet.fleetId, left);
        else this.spawning.delete(fleet.fleetId);
      }
      if (port === undefined) {
        if (Date.now() - this.warnedNoPortAt > 30_000) {
          this.warnedNoPortAt = Date.now();
          this.options.logger.warn({ range: this.options.config.portRange }, 'no free port in FLEET_LOCAL_PORT_RANGE for a game server');
        }
        return;
      }
      // The fleet may have been deleted while the port was probed (and nobody waits for it any more).
      if (this.closed || !this.wanted(fleet.fleetId)) return this.ports.give(port);
      const name = `${fleet.name}-${randomBytes(4).toString('hex')}`;
      const server = new LocalGameServer(
        {
          name,
          fleet,
          port,
          host: this.options.config.host,
          argv: resolveCommand(fleet.command ?? this.defaultCommand, port),
          env: gameServerEnv(port, name, this.node),
          ...(this.options.matchTokens ? { matchTokens: this.options.matchTokens } : {}),
          logger: this.options.logger,
          onChange: (s, type) => this.onChange(s, type),
          onExit: (s) => this.onExit(s),
        },
        fleetSelector(fleet),
      );
      this.servers.set(name, server);
      await server.start();
    })().catch((error: unknown) => this.options.logger.error({ err: error }, 'starting a game server failed'));
  }
}
