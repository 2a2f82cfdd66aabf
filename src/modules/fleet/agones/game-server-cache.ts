/**
 * A list-then-watch cache of the GameServers ggscale manages (those labelled ggscale.dev/project) in one
 * namespace. When the apiserver ends a watch (it does so routinely) the watch resumes from the last
 * resourceVersion seen; when that version is too old (410 Gone/Expired) the cache lists again and emits
 * the difference. Its snapshot is trusted only while a watch is open on top of a completed list.
 */
import type { Logger } from '../../../internal/telemetry/logger.js';
import { PROJECT_LABEL } from '../labels.js';
import type { GameServerEventType, GameServerState, GameServerView } from '../types.js';
import { statusCodeOf, type KubeClients } from './kube.js';

/** The parts of an agones.dev/v1 GameServer that ggscale reads. */
export interface AgonesGameServer {
  metadata: { name: string; resourceVersion?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: { ports?: Array<{ name?: string; protocol?: string }> };
  status?: { state?: string; address?: string; ports?: Array<{ name?: string; port?: number }> };
}

interface GameServerList {
  metadata?: { resourceVersion?: string };
  items?: AgonesGameServer[];
}

const STATES = new Set(['Scheduled', 'RequestReady', 'Ready', 'Allocated', 'Reserved', 'Unhealthy', 'Shutdown', 'Error']);

/** Agones' own states before Scheduled (PortAllocation, Creating, Starting) read as Scheduled. */
export function toView(gs: AgonesGameServer, protocols?: Map<string, string>): GameServerView {
  const state = gs.status?.state ?? 'Scheduled';
  const protocolOf = (name: string) =>
    protocols?.get(name) ?? gs.spec?.ports?.find((port) => port.name === name)?.protocol ?? 'UDP';
  return {
    name: gs.metadata.name,
    state: (STATES.has(state) ? state : 'Scheduled') as GameServerState,
    address: gs.status?.address ?? '',
    ports: (gs.status?.ports ?? []).map((port) => ({ name: port.name ?? '', port: Number(port.port), protocol: protocolOf(port.name ?? '') })),
    labels: { ...gs.metadata.labels },
    annotations: { ...gs.metadata.annotations },
  };
}

export class GameServerCache {
  private readonly items = new Map<string, AgonesGameServer>();
  private resourceVersion: string | undefined;
  private synced = false;
  private watching = false;
  private closed = false;
  private controller: AbortController | undefined;
  private wake: (() => void) | undefined;
  private lastWarning = 0;

  constructor(
    private readonly clients: KubeClients,
    private readonly namespace: string,
    private readonly logger: Logger,
    private readonly emit: (type: GameServerEventType, gs: AgonesGameServer) => void,
  ) {}

  start(): void {
    void this.loop();
  }

  get(name: string): AgonesGameServer | undefined {
    return this.items.get(name);
  }

  all(): AgonesGameServer[] {
    return [...this.items.values()];
  }

  /** Every managed GameServer, or undefined while the view may be stale (no open watch). */
  snapshot(): GameServerView[] | undefined {
    if (!this.synced || !this.watching) return undefined;
    return this.all().map((gs) => toView(gs));
  }

  /** Whether a watch is open on top of a completed list (for tests and readiness). */
  get live(): boolean {
    return this.synced && this.watching;
  }

  close(): void {
    this.closed = true;
    this.controller?.abort();
    this.wake?.();
  }

  private async loop(): Promise<void> {
    let backoffMs = 100;
    while (!this.closed) {
      const started = Date.now();
      try {
        if (this.resourceVersion === undefined) await this.relist();
        const outcome = await this.watchOnce();
        if (outcome === 'expired') this.resourceVersion = undefined;
        backoffMs = 100;
        // An apiserver that keeps ending watches at once must not be hammered.
        if (Date.now() - started < 1_000) await this.sleep(200);
      } catch (error) {
        this.watching = false;
        if (this.closed) return;
        if (statusCodeOf(error) === 410) this.resourceVersion = undefined;
        if (Date.now() - this.lastWarning > 30_000) {
          this.lastWarning = Date.now();
          this.logger.warn({ err: error, namespace: this.namespace }, 'watching Agones GameServers failed; retrying');
        }
        await this.sleep(backoffMs);
        backoffMs = Math.min(backoffMs * 2, 10_000);
      }
    }
  }

  private async relist(): Promise<void> {
    const list = (await this.clients.api.listNamespacedCustomObject({
      group: 'agones.dev',
      version: 'v1',
      namespace: this.namespace,
      plural: 'gameservers',
      labelSelector: PROJECT_LABEL,
    })) as GameServerList;
    const seen = new Set<string>();
    for (const gs of list.items ?? []) {
      seen.add(gs.metadata.name);
      this.apply(this.items.has(gs.metadata.name) ? 'MODIFIED' : 'ADDED', gs);
    }
    for (const [name, gs] of [...this.items]) if (!seen.has(name)) this.apply('DELETED', gs);
    this.resourceVersion = list.metadata?.resourceVersion;
    this.synced = true;
  }

  private apply(type: GameServerEventType, gs: AgonesGameServer): void {
    const previous = this.items.get(gs.metadata.name);
    if (type === 'DELETED') {
      if (!this.items.delete(gs.metadata.name)) return;
    } else {
      if (previous?.metadata.resourceVersion !== undefined && previous.metadata.resourceVersion === gs.metadata.resourceVersion) return;
      this.items.set(gs.metadata.name, gs);
    }
    this.emit(type, gs);
  }

  private watchOnce(): Promise<'ended' | 'expired'> {
    const path = `/apis/agones.dev/v1/namespaces/${encodeURIComponent(this.namespace)}/gameservers`;
    return new Promise((resolve, reject) => {
      let expired = false;
      let done = false;
      const onEvent = (type: string, object: unknown) => {
        const gs = object as AgonesGameServer & { code?: number };
        if (type === 'ERROR') {
          if (gs.code === 410) expired = true;
          else this.logger.warn({ status: gs }, 'Agones GameServer watch reported an error');
          return;
        }
        const version = gs.metadata?.resourceVersion;
        if (version) this.resourceVersion = version;
        if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') this.apply(type, gs);
      };
      const onDone = (error: unknown) => {
        done = true;
        this.watching = false;
        if (error && !this.closed && statusCodeOf(error) !== 410) reject(error instanceof Error ? error : new Error('the GameServer watch failed', { cause: error }));
        else resolve(expired || statusCodeOf(error) === 410 ? 'expired' : 'ended');
      };
      new this.clients.k8s.Watch(this.clients.kc)
        .watch(path, { labelSelector: PROJECT_LABEL, resourceVersion: this.resourceVersion, allowWatchBookmarks: true }, onEvent, onDone)
        .then((controller) => {
          this.controller = controller;
          if (!done) this.watching = true;
          if (this.closed) controller.abort();
        }, reject);
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
