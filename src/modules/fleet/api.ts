/** What the fleet module offers other modules (the matchmaker allocates its matches' game servers here). */
import type { ProjectScope } from '../../http/auth-context.js';

import type { Labels } from './labels.js';

export { checkLabels, type Labels } from './labels.js';

/** A match's game server. */
export interface MatchServer {
  allocationId: string;
  address: string;
  ports: { name: string; port: number; protocol: string }[];
}

export interface MatchAllocation {
  fleet: string;
  /** The pool's allocation labels plus its region label. */
  selector: Labels;
  matchId: string;
  poolId: string;
  /** The teams, as player ids (the ggscale.dev/players annotation). */
  teams: string[][];
}

export const MATCH_LABEL = 'ggscale.dev/match';
export const POOL_LABEL = 'ggscale.dev/pool';
export const PLAYERS_ANNOTATION = 'ggscale.dev/players';

export interface FleetApi {
  /** Whether the project has a fleet of that name (the local backend's `default` always exists). */
  fleetExists(scope: ProjectScope, name: string): Promise<boolean>;
  /**
   * Allocates a match's game server through the fleet service (its quotas, TTL and backend), idempotent by the
   * match id, labelled with the match and pool. Throws the fleet's problems: `unavailable` (no ready server,
   * with retryAfterSeconds), `quota-exceeded` (max_allocations), `not-found` (no such fleet).
   */
  allocateForMatch(scope: ProjectScope, request: MatchAllocation): Promise<MatchServer>;
  /** When the allocation ended (released, expired, its server gone), or null while it is live. */
  allocationEndedAt(scope: ProjectScope, allocationId: string): Promise<string | null>;
  /** Ends an allocation (a match dissolved after its server was allocated); an ended one is fine. */
  release(scope: ProjectScope, allocationId: string): Promise<void>;
}

declare module '../contract.js' {
  interface Provisions {
    fleet: FleetApi;
  }
}
