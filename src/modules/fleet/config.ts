/** The fleet layer's environment variables (issue 6); each error names its variable. */
import { hostname } from 'node:os';
import { ConfigError, text, type Env } from '../../internal/config/parse.js';
import { custom, defineSection, integer, oneOf, text as textVariable, type ConfigSection } from '../../internal/config/section.js';

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

// Stable across restarts (crash reconciliation finds its own rows again), distinct for two servers on one host
// (they listen on different ports).
function nodeId(env: Env): string {
  const value = text(env, 'FLEET_LOCAL_NODE_ID') ?? `${hostname()}:${text(env, 'PORT') ?? '8080'}`;
  if (value.length > 255) throw new ConfigError('FLEET_LOCAL_NODE_ID', 'must be at most 255 characters');
  return value;
}

export const fleetSection: ConfigSection<'fleet', FleetConfig> = defineSection(
  'fleet',
  'Fleet',
  {
    backend: oneOf('FLEET_BACKEND', ['local', 'agones'], {
      default: 'local',
      doc: '`local` (game-server processes on this host) or `agones` (Kubernetes, `KUBECONFIG`)',
    }),
    allocationTtlSeconds: integer('FLEET_ALLOCATION_TTL_SECONDS', {
      default: 3600,
      min: 1,
      max: 604_800,
      doc: 'allocation lifetime of fleets registered without one (and of the `default` fleet)',
    }),
    defaultMaxAllocations: integer('FLEET_DEFAULT_MAX_ALLOCATIONS', {
      default: 10,
      min: 0,
      max: 100_000,
      doc: "the `default` fleet's quota (`max_allocations`), on the local backend",
    }),
    sweepIntervalMs: integer('FLEET_SWEEP_INTERVAL_MS', {
      default: 1000,
      min: 50,
      max: 600_000,
      doc: 'how often expired allocations are released and allocations reconciled with the game servers',
    }),
    buffer: integer('FLEET_LOCAL_BUFFER', { default: 2, min: 0, max: 1000, doc: 'warm Ready servers per registered fleet' }),
    maxProcesses: integer('FLEET_LOCAL_MAX_PROCESSES', {
      default: 32,
      min: 1,
      max: 10_000,
      doc: 'game-server processes on this host, across all fleets',
    }),
    portRange: custom('FLEET_LOCAL_PORT_RANGE', { defaultDoc: '`7000-7999`', doc: 'ports of the local game servers', parse: portRange }),
    host: custom('FLEET_LOCAL_HOST', {
      defaultDoc: '`127.0.0.1`',
      doc:
        'the address game servers are advertised at and listen on (it must be an address of this host; each server gets ' +
        'it as `GGSCALE_GAME_SERVER_HOST`, and the shipped echo server, `ggscale gameserver --host`, binds UDP and TCP to it only)',
      parse: advertisedHost,
    }),
    nodeId: custom('FLEET_LOCAL_NODE_ID', {
      reads: ['PORT'],
      defaultDoc: '`hostname:PORT`',
      doc: 'this node among those sharing one database (crash reconciliation is per node)',
      parse: nodeId,
    }),
    healthTimeoutMs: integer('FLEET_LOCAL_HEALTH_TIMEOUT_MS', {
      default: 10_000,
      min: 100,
      max: 600_000,
      doc: 'a server whose health pings stop this long is Unhealthy (and replaced)',
    }),
    startTimeoutMs: integer('FLEET_LOCAL_START_TIMEOUT_MS', {
      default: 15_000,
      min: 100,
      max: 600_000,
      doc: 'a server not Ready this long after its start is Unhealthy',
    }),
    allocationWaitMs: integer('FLEET_ALLOCATION_WAIT_MS', {
      default: 5_000,
      min: 0,
      max: 60_000,
      doc: 'how long an allocation waits for a server that is starting before answering `503`',
    }),
    kubeconfig: textVariable('KUBECONFIG', {
      doc: 'the Agones cluster\'s kubeconfig file; unset: the in-cluster service account, else `~/.kube/config` (see `deploy/agones/` for an example Fleet and the RBAC ggscale needs)',
    }),
    namespace: custom('FLEET_AGONES_NAMESPACE', { defaultDoc: '`default`', doc: 'the Kubernetes namespace of the Agones fleets', parse: namespace }),
    contentionRetries: integer('FLEET_AGONES_CONTENTION_RETRIES', {
      default: 5,
      min: 0,
      max: 20,
      doc: 'retries, with exponential backoff, of an allocation that reported contention',
    }),
  },
  (values) => ({
    backend: values.backend,
    allocationTtlSeconds: values.allocationTtlSeconds,
    defaultMaxAllocations: values.defaultMaxAllocations,
    sweepIntervalMs: values.sweepIntervalMs,
    local: {
      buffer: values.buffer,
      maxProcesses: values.maxProcesses,
      portRange: values.portRange,
      host: values.host,
      nodeId: values.nodeId,
      healthTimeoutMs: values.healthTimeoutMs,
      startTimeoutMs: values.startTimeoutMs,
      allocationWaitMs: values.allocationWaitMs,
    },
    agones: { kubeconfig: values.kubeconfig, namespace: values.namespace, contentionRetries: values.contentionRetries },
  }),
);

export const loadFleetConfig = (env: Env): FleetConfig => fleetSection.parse(env);
