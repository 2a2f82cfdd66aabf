/** The indexed read whose isolation cost bench/foundation.ts measures (shared with the bench server). */
export const PLAYER_BY_ID_SQL = 'select id, email from players where id = $1';
