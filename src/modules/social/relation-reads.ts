/** The social graph read: a player's listing and one relation over REST, and the questions other modules ask. */
import type { ProjectScope } from '../../http/auth-context.js';
import { notFound } from '../../internal/errors/app-error.js';
import type { AuthApi } from '../auth/api.js';
import type { RelationState, RelationView } from './api.js';
import { NO_SUCH_PLAYER } from './relation-service.js';
import type { ListPosition, RelationStore } from './relation-store.js';
import { rankOf } from './relation-store.js';
import type { RelationJson, RelationViews } from './relation-view.js';

export interface RelationPage {
  items: RelationJson[];
  /** Where the next page starts after, when there may be more. */
  next: ListPosition | null;
}

/** Ids other modules pass are theirs to validate; anything that is not one names no player. */
const ID = /^[1-9][0-9]{0,17}$/;
const isId = (...ids: string[]) => ids.every((id) => ID.test(id));

export class RelationReads {
  constructor(
    private readonly store: RelationStore,
    private readonly views: RelationViews,
    private readonly players: AuthApi['players'],
  ) {}

  async list(scope: ProjectScope, playerId: string, state: RelationState | undefined, after: ListPosition | undefined, limit: number): Promise<RelationPage> {
    await this.requirePlayer(scope, playerId);
    const rows = await this.store.list(scope, playerId, state, after, limit + 1);
    const page = rows.slice(0, limit);
    const players = await this.players.find(scope, page.map((row) => String(row.other_id)));
    const last = page.at(-1);
    return {
      items: await this.views.render(scope, page, players),
      next: rows.length > limit && last ? { rank: rankOf(last.state), otherId: String(last.other_id) } : null,
    };
  }

  /** One relation; 404 when there is none (also when the other player blocked this one, or does not exist). */
  async get(scope: ProjectScope, playerId: string, otherId: string): Promise<RelationJson> {
    await this.requirePlayer(scope, playerId);
    const row = await this.store.get(scope, playerId, otherId);
    if (!row) throw notFound('No relation with that player.');
    const [relation] = await this.views.render(scope, [row], await this.players.find(scope, [otherId]));
    return relation!;
  }

  async relation(scope: ProjectScope, a: string, b: string): Promise<RelationView> {
    if (!isId(a, b)) return 'none';
    return (await this.store.pair(scope, a, b)).ab ?? 'none';
  }

  async blockedEither(scope: ProjectScope, a: string, b: string): Promise<boolean> {
    if (!isId(a, b)) return false;
    const { ab, ba } = await this.store.pair(scope, a, b);
    return ab === 'blocked' || ba === 'blocked';
  }

  async blockedBy(scope: ProjectScope, playerId: string): Promise<string[]> {
    return isId(playerId) ? this.store.othersIn(scope, playerId, 'blocked') : [];
  }

  async blockersOf(scope: ProjectScope, playerId: string): Promise<string[]> {
    return isId(playerId) ? this.store.holdersOf(scope, playerId, 'blocked') : [];
  }

  async friendIds(scope: ProjectScope, playerId: string): Promise<string[]> {
    return isId(playerId) ? this.store.othersIn(scope, playerId, 'friend') : [];
  }

  private async requirePlayer(scope: ProjectScope, playerId: string): Promise<void> {
    if (!(await this.players.get(scope, playerId))) throw notFound(NO_SUCH_PLAYER);
  }
}
