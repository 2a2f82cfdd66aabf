/** The rules of pools: settled and checked as a whole, their fleet and skill board present in the project. */
import type { ProjectScope } from '../../http/auth-context.js';
import { conflict, limitReached, notFound } from '../../internal/errors/app-error.js';
import type { TenancyApi } from '../tenancy/api.js';
import type { FleetApi } from '../fleet/api.js';
import type { LeaderboardsApi } from '../leaderboards/api.js';
import type { MatchmakerConfig } from './config.js';
import { settle, skillBoard, type Pool, type PoolSettings } from './pool.js';
import type { PoolStats, PoolStore } from './pool-store.js';
import type { Ticket } from './ticket.js';
import type { PoolBody, PoolPatch } from './pool-schemas.js';

export interface PoolServiceDeps {
  store: PoolStore;
  fleet: FleetApi;
  leaderboards: LeaderboardsApi;
  settings: TenancyApi['settings'];
  config: MatchmakerConfig;
}

export class PoolService {
  constructor(private readonly deps: PoolServiceDeps) {}

  async create(scope: ProjectScope, body: PoolBody): Promise<Pool> {
    const settings = settle(body);
    await this.checkReferences(scope, settings);
    const { limits } = await this.deps.settings.get(scope);
    const maxPools = limits['matchmaker_max_pools'] ?? this.deps.config.maxPools;
    const outcome = await this.deps.store.create(scope, settings, maxPools);
    if ('taken' in outcome) throw conflict(`A pool "${settings.id}" exists.`);
    if ('full' in outcome) throw limitReached(`The project has ${maxPools} pools (MATCHMAKER_MAX_POOLS).`, maxPools);
    return outcome.pool;
  }

  async get(scope: ProjectScope, id: string): Promise<Pool> {
    const pool = await this.deps.store.get(scope, id);
    if (!pool) throw notFound(`No pool "${id}".`);
    return pool;
  }

  async getWithStats(scope: ProjectScope, id: string): Promise<Pool & { stats: PoolStats }> {
    const pool = await this.get(scope, id);
    return { ...pool, stats: await this.deps.store.stats(scope, id) };
  }

  list(scope: ProjectScope, afterId: string | undefined, limit: number): Promise<Pool[]> {
    return this.deps.store.list(scope, afterId, limit);
  }

  /** Applies from the next matcher pass; searching tickets keep their age. null clears an optional rule. */
  async update(scope: ProjectScope, id: string, patch: PoolPatch): Promise<Pool> {
    // The references are checked outside any transaction (the embedded database has one connection), so the
    // write is a compare-and-set on the version read, tried again if another PATCH landed in between.
    for (let attempt = 0; attempt < 5; attempt++) {
      const { created_at: _c, updated_at: readAt, ...current } = await this.get(scope, id);
      const settings = settle({ ...current, ...patch, skill: patch.skill ?? current.skill, id });
      await this.checkReferences(scope, settings);
      const updated = await this.deps.store.update(scope, settings, readAt);
      if (updated === 'gone') throw notFound(`No pool "${id}".`);
      if (updated !== 'stale') return updated;
    }
    throw conflict(`The pool "${id}" kept changing while this PATCH was applied; send it again.`);
  }

  /** Answers the searching tickets that ended with the pool. */
  async delete(scope: ProjectScope, id: string): Promise<Ticket[]> {
    const ended = await this.deps.store.delete(scope, id);
    if (!ended) throw notFound(`No pool "${id}".`);
    return ended;
  }

  private async checkReferences(scope: ProjectScope, settings: PoolSettings): Promise<void> {
    if (!(await this.deps.fleet.fleetExists(scope, settings.fleet))) throw notFound(`The project has no fleet named "${settings.fleet}".`);
    const board = skillBoard(settings.skill);
    if (board !== undefined && !(await this.deps.leaderboards.boardExists(scope, board))) throw notFound(`No leaderboard "${board}" for the pool's skill.`);
  }
}
