/** What the leaderboards module offers other modules (the matchmaker reads skill from a board). */
import type { ProjectScope } from '../../http/auth-context.js';

export interface LeaderboardsApi {
  /** Whether the project has a live board of that id. */
  boardExists(scope: ProjectScope, boardId: string): Promise<boolean>;
  /** The players' scores in the board's current period; a player without a record is absent. 404 for no board. */
  currentScores(scope: ProjectScope, boardId: string, playerIds: readonly string[]): Promise<Map<string, bigint>>;
}

declare module '../contract.js' {
  interface Provisions {
    leaderboards: LeaderboardsApi;
  }
}
