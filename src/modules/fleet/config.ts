/** The fleet layer's environment variables (issue 6); each error names its variable. */
import { hostname } from 'node:os';
import { ConfigError, integer, oneOf, text, type Env } from '../../internal/config/parse.js';

export type FleetBackendKind = 'local' | 'agones';

export interface FleetConfig {
  /** Which backend this deployment runs; fleets of the other kind are refused. */
  backend: FleetBackendKind;
  /** Allocation TTL of fleets registered without one (and of the `default` fleet). */
  allocationTtlSeconds: number;
  /** max_allocations of the `default` fleet every project gets on the local backend. */
  defaultMaxAllocations: number;
  /** How often expired allocations are released and allocations are reconciled with the game servers. */
  sweepIntervalMs: number;
  local: LocalFleetConfig;
  agones: AgonesFleetConfig;
}

export interface LocalFleetConfig {
  /** Ready (unallocated) servers kept warm per registered fleet. */
  buffer: number;
  /** Game-server processes on this host, across all fleets. */
  maxProcesses: number;
  portRange: { first: number; last: number };
  /** The address clients are told to connect to. */
  host: string;
  /** Names this ggscale among the nodes sharing one database (crash reconciliation is per node); default host:PORT. */
  nodeId: string;
  /** A server whose health pings stop for this long is Unhealthy (and replaced). */
  healthTimeoutMs: number;
  /** A server not Ready this long after its start is Unhealthy. */
  startTimeoutMs: number;
  /** How long an allocation waits for a server that is starting before answering 503. */
  allocationWaitMs: number;
}

export interface AgonesFleetConfig {
  /** A kubeconfig file; unset: in-cluster service account, else ~/.kube/config. */
  kubeconfig: string | undefined;
  namespace: string;
  /** Retries of an allocation that reported Contention, with exponential backoff. */
  contentionRetries: number;
}

function portRange(env: Env): { first: number; last: number } {
  const raw = text(env, 'FLEET_LOCAL_PORT_RANGE') ?? '7000-7999';
  const match = /^(\d{1,5})-(\d{1,5})$/.exec(raw);
  const first = Number(match?.[1]);
  const last = Number(match?.[2]);
  if (!match || first < 1 || last > 65535 || first > last) {
    throw new ConfigError('FLEET_LOCAL_PORT_RANGE', `must be FIRST-LAST with 1 <= FIRST <= LAST <= 65535, got "${raw}"`);
  }
  return { first, last };
}

function namespace(env: Env): string {
  const value = text(env, 'FLEET_AGONES_NAMESPACE') ?? 'default';
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(value)) {
    throw new ConfigError('FLEET_AGONES_NAMESPACE', `"${value}" is not a Kubernetes namespace name`);
  }
  return value;
}

function advertisedHost(env: Env): string {
  const value = text(env, 'FLEET_LOCAL_HOST') ?? '127.0.0.1';
  if (value.length > 253 || !/^[A-Za-z0-9.:-]+$/.test(value)) {
    throw new ConfigError('FLEET_LOCAL_HOST', `"${value}" is not a host name or IP address`);
  }
  return value;
}

export function loadFleetConfig(env: Env): FleetConfig {
  // Stable across restarts (crash reconciliation finds its own rows again), distinct for two servers on one
  // host (they listen on different ports).
  const nodeId = text(env, 'FLEET_LOCAL_NODE_ID') ?? `${hostname()}:${text(env, 'PORT') ?? '8080'}`;
  if (nodeId.length > 255) throw new ConfigError('FLEET_LOCAL_NODE_ID', 'must be at most 255 characters');
  return {
    backend: oneOf(env, 'FLEET_BACKEND', ['local', 'agones'] as const, 'local'),
    allocationTtlSeconds: integer(env, 'FLEET_ALLOCATION_TTL_SECONDS', 3600, 1, 604_800),
    defaultMaxAllocations: integer(env, 'FLEET_DEFAULT_MAX_ALLOCATIONS', 10, 0, 100_000),
    sweepIntervalMs: integer(env, 'FLEET_SWEEP_INTERVAL_MS', 1000, 50, 600_000),
    local: {
      buffer: integer(env, 'FLEET_LOCAL_BUFFER', 2, 0, 1000),
      maxProcesses: integer(env, 'FLEET_LOCAL_MAX_PROCESSES', 32, 1, 10_000),
      portRange: portRange(env),
      host: advertisedHost(env),
      nodeId,
      healthTimeoutMs: integer(env, 'FLEET_LOCAL_HEALTH_TIMEOUT_MS', 10_000, 100, 600_000),
      startTimeoutMs: integer(env, 'FLEET_LOCAL_START_TIMEOUT_MS', 15_000, 100, 600_000),
      allocationWaitMs: integer(env, 'FLEET_ALLOCATION_WAIT_MS', 5_000, 0, 60_000),
    },
    agones: {
      kubeconfig: text(env, 'KUBECONFIG'),
      namespace: namespace(env),
      contentionRetries: integer(env, 'FLEET_AGONES_CONTENTION_RETRIES', 5, 0, 20),
    },
  };
}
