/**
 * The fleet backend: the small, domain-shaped interface both implementations (local processes, Agones)
 * provide, so a studio can move between providers without rewriting its game. Game servers follow the
 * Agones state machine on both: Scheduled → RequestReady → Ready → Allocated → Shutdown, or Unhealthy.
 */
import type { FleetBackendKind } from './config.js';
import type { Labels } from './labels.js';

export type GameServerState =
  | 'Scheduled'
  | 'RequestReady'
  | 'Ready'
  | 'Allocated'
  | 'Reserved'
  | 'Unhealthy'
  | 'Shutdown'
  | 'Error';

export interface GameServerPort {
  name: string;
  port: number;
  protocol: string;
}

/** A game server as ggscale sees it, whichever backend runs it. */
export interface GameServerView {
  name: string;
  state: GameServerState;
  address: string;
  ports: GameServerPort[];
  labels: Labels;
  annotations: Labels;
}

/** What a backend knows of a registered fleet. */
export interface FleetSpec {
  tenantId: string;
  projectId: string;
  fleetId: string;
  name: string;
  /** The fleet's own labels: always part of the selector. */
  labels: Labels;
  /** Local: argv of a game server (`{port}` is replaced); null: the shipped echo server. */
  command: string[] | null;
  /** Agones: the Fleet in the cluster (agones.dev/fleet); null: the same as name. */
  agonesFleet: string | null;
}

export interface AllocationRequest {
  fleet: FleetSpec;
  /** The allocation row's id, stamped on the game server (ggscale.dev/allocation) for reconciliation. */
  allocationId: string;
  /** The client's extra selector labels (never a reserved key). */
  selector: Labels;
  /** Labels and annotations applied to the game server on allocation. */
  metadata: { labels: Labels; annotations: Labels };
}

export type AllocationOutcome =
  | { kind: 'allocated'; gameServer: GameServerView }
  | { kind: 'unallocated'; reason: string; retryAfterSeconds: number };

export type GameServerEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface GameServerEvent {
  type: GameServerEventType;
  gameServer: GameServerView;
}

export type GameServerListener = (event: GameServerEvent) => void;

export interface FleetBackend {
  readonly kind: FleetBackendKind;
  /** Local: the ggscale node whose processes these are (allocations remember it). */
  readonly node: string | null;
  /** Background work (process pool, watch); never blocks on an unreachable dependency. */
  start(): Promise<void>;
  /** The registered fleets, all at once (the local backend keeps warm buffers for exactly these). */
  syncFleets(fleets: FleetSpec[]): void;
  addFleet(fleet: FleetSpec): void;
  /** Forgets a fleet; its unallocated servers go away (allocated ones are released by the caller). */
  removeFleet(fleetId: string): void;
  allocate(request: AllocationRequest): Promise<AllocationOutcome>;
  get(name: string): Promise<GameServerView | undefined>;
  /** The fleet's game servers (in every state). */
  list(fleet: FleetSpec): Promise<GameServerView[]>;
  /** Shuts a game server down; a missing one is fine (release is idempotent). */
  release(name: string): Promise<void>;
  /** Game-server state changes, for reconciliation and metrics; returns the unsubscribe. */
  watch(listener: GameServerListener): () => void;
  /** Every ggscale-managed game server known now, or undefined while the view may be incomplete. */
  snapshot(): GameServerView[] | undefined;
  close(): Promise<void>;
}

/** States after which a game server will not serve its allocation any more. */
export const GONE_STATES: ReadonlySet<GameServerState> = new Set(['Unhealthy', 'Shutdown', 'Error']);
