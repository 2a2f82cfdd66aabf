/**
 * FLEET_BACKEND=agones: allocations are GameServerAllocation objects (allocation.agones.dev/v1) whose
 * selector always carries the registered fleet's own labels (agones.dev/fleet, ggscale.dev/project and the
 * fleet's labels), so no project can reach another's game servers; release deletes the GameServer.
 * Agones answers Allocated, UnAllocated and Contention all with 201: UnAllocated is our 503, Contention is
 * retried a bounded number of times with exponential backoff and jitter.
 */
import { AppError, unavailable, validation } from '../../../internal/errors/app-error.js';
import type { Logger } from '../../../internal/telemetry/logger.js';
import type { AgonesFleetConfig } from '../config.js';
import { ALLOCATION_LABEL, TENANT_ANNOTATION, fleetSelector, matchesLabels } from '../labels.js';
import type {
  AllocationOutcome,
  AllocationRequest,
  FleetBackend,
  FleetSpec,
  GameServerEvent,
  GameServerListener,
  GameServerView,
} from '../types.js';
import { GameServerCache, toView, type AgonesGameServer } from './game-server-cache.js';
import { connectKube, statusCodeOf, statusMessageOf, type KubeClients } from './kube.js';

const GSA = { group: 'allocation.agones.dev', version: 'v1', plural: 'gameserverallocations' } as const;
const GS = { group: 'agones.dev', version: 'v1', plural: 'gameservers' } as const;

interface AllocationResponse {
  status?: {
    state?: string;
    gameServerName?: string;
    address?: string;
    ports?: Array<{ name?: string; port?: number }>;
    metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  };
}

export interface AgonesBackendOptions {
  config: AgonesFleetConfig;
  logger: Logger;
  /** Backoff before retry n (0-based) after Contention; default 25 ms · 2^n plus jitter, at most 800 ms. */
  backoffMs?: (attempt: number) => number;
}

export class AgonesBackend implements FleetBackend {
  readonly kind = 'agones' as const;
  readonly node = null;
  private connecting: Promise<KubeClients> | undefined;
  private cache: GameServerCache | undefined;
  private readonly listeners = new Set<GameServerListener>();
  private closed = false;

  constructor(private readonly options: AgonesBackendOptions) {}

  /** Connects in the background: an unreachable cluster makes allocations 503, not the start fail. */
  async start(): Promise<void> {
    this.connecting = connectKube(this.options.config).then((clients) => {
      if (this.closed) return clients;
      this.cache = new GameServerCache(clients, this.options.config.namespace, this.options.logger, (type, gs) => this.emit({ type, gameServer: toView(gs) }));
      this.cache.start();
      return clients;
    });
    this.connecting.catch((error: unknown) => this.options.logger.error({ err: error }, 'the Agones backend cannot load its kubeconfig'));
  }

  syncFleets(): void {}
  addFleet(): void {}
  removeFleet(): void {}

  /** Whether the GameServer watch is open on a complete list. */
  get watching(): boolean {
    return this.cache?.live ?? false;
  }

  async allocate(request: AllocationRequest): Promise<AllocationOutcome> {
    const { api } = await this.clients();
    const body = {
      apiVersion: 'allocation.agones.dev/v1',
      kind: 'GameServerAllocation',
      spec: {
        selectors: [{ matchLabels: { ...request.selector, ...fleetSelector(request.fleet) } }],
        metadata: {
          labels: { ...request.metadata.labels, [ALLOCATION_LABEL]: request.allocationId },
          annotations: { ...request.metadata.annotations, [TENANT_ANNOTATION]: request.fleet.tenantId },
        },
      },
    };
    const retries = this.options.config.contentionRetries;
    for (let attempt = 0; ; attempt++) {
      let response: AllocationResponse;
      try {
        response = (await api.createNamespacedCustomObject({ ...GSA, namespace: this.options.config.namespace, body })) as AllocationResponse;
      } catch (error) {
        throw this.mapError(error, 'create a GameServerAllocation');
      }
      const status = response.status ?? {};
      switch (status.state) {
        case 'Allocated':
          return { kind: 'allocated', gameServer: this.allocatedView(status) };
        case 'UnAllocated':
          return { kind: 'unallocated', reason: 'no Ready game server in the fleet matches', retryAfterSeconds: 1 };
        case 'Contention':
          if (attempt >= retries) return { kind: 'unallocated', reason: 'the allocator reported contention on every retry', retryAfterSeconds: 1 };
          await new Promise((resolve) => setTimeout(resolve, this.backoff(attempt)));
          continue;
        default:
          throw unavailable(`The cluster answered the allocation with state ${JSON.stringify(status.state ?? null).slice(0, 40)}.`, 1);
      }
    }
  }

  async get(name: string): Promise<GameServerView | undefined> {
    const cached = this.cache?.get(name);
    if (cached && this.watching) return toView(cached);
    const { api } = await this.clients();
    try {
      return toView((await api.getNamespacedCustomObject({ ...GS, namespace: this.options.config.namespace, name })) as AgonesGameServer);
    } catch (error) {
      if (statusCodeOf(error) === 404) return undefined;
      throw this.mapError(error, 'read a GameServer');
    }
  }

  async list(fleet: FleetSpec): Promise<GameServerView[]> {
    const selector = fleetSelector(fleet);
    const all = this.snapshot();
    if (all) return all.filter((gs) => matchesLabels(selector, gs.labels));
    const { api } = await this.clients();
    const labelSelector = Object.entries(selector).map(([key, value]) => `${key}=${value}`).join(',');
    try {
      const list = (await api.listNamespacedCustomObject({ ...GS, namespace: this.options.config.namespace, labelSelector })) as { items?: AgonesGameServer[] };
      return (list.items ?? []).map((gs) => toView(gs));
    } catch (error) {
      throw this.mapError(error, 'list GameServers');
    }
  }

  /** Deleting the GameServer is how Agones releases one (its Fleet then creates a fresh one). */
  async release(name: string): Promise<void> {
    const { api } = await this.clients();
    try {
      await api.deleteNamespacedCustomObject({ ...GS, namespace: this.options.config.namespace, name });
    } catch (error) {
      if (statusCodeOf(error) !== 404) throw this.mapError(error, 'delete a GameServer');
    }
  }

  watch(listener: GameServerListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  snapshot(): GameServerView[] | undefined {
    return this.cache?.snapshot();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.cache?.close();
  }

  private async clients(): Promise<KubeClients> {
    if (!this.connecting) throw unavailable('The Agones backend has not started.', 1);
    try {
      return await this.connecting;
    } catch {
      throw unavailable('The Agones backend cannot reach its cluster (check KUBECONFIG).', 5);
    }
  }

  private allocatedView(status: NonNullable<AllocationResponse['status']>): GameServerView {
    const name = status.gameServerName ?? '';
    // The allocation answer has no protocols; the watched GameServer's spec does (UDP is Agones' default).
    const cached = this.cache?.get(name);
    const protocols = new Map<string, string>();
    for (const port of cached?.spec?.ports ?? []) if (port.name) protocols.set(port.name, port.protocol ?? 'UDP');
    return toView(
      { metadata: { name, labels: status.metadata?.labels, annotations: status.metadata?.annotations }, status: { state: 'Allocated', address: status.address, ports: status.ports } },
      protocols,
    );
  }

  private backoff(attempt: number): number {
    if (this.options.backoffMs) return this.options.backoffMs(attempt);
    return Math.min(800, 25 * 2 ** attempt) + Math.random() * 25;
  }

  private mapError(error: unknown, what: string): AppError {
    const code = statusCodeOf(error);
    const message = statusMessageOf(error);
    if (code === 422) return validation(`The cluster refused the allocation: ${message}`);
    if (code === 401 || code === 403) {
      this.options.logger.error({ code, message }, `ggscale may not ${what}: check its RBAC Role (deploy/agones/rbac.yaml)`);
      return unavailable('The game-server cluster refused ggscale; the operator must check its permissions.', 30);
    }
    this.options.logger.warn({ code, message }, `the Agones backend could not ${what}`);
    return unavailable('The game-server cluster is unavailable; try again shortly.', 2);
  }

  private emit(event: GameServerEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.options.logger.error({ err: error }, 'game server listener failed');
      }
    }
  }
}
