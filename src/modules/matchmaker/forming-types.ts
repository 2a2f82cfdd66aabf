/** The shapes one matcher pass reads and answers (forming.ts holds the rules). */
export interface PoolRules {
  /** 1 ≤ minPlayers ≤ maxPlayers ≤ 100. */
  minPlayers: number;
  maxPlayers: number;
  /** When set, minPlayers = maxPlayers = count × size. */
  teams: { count: number; size: number } | null;
  skill: { windowStart: number; growthPerSecond: number; windowMax: number | null };
  /** Pools without teams only; null: a group never completes below maxPlayers. */
  fillAfterSeconds: number | null;
  /** Informational: tickets are checked against the pool's regions elsewhere. */
  regions: string[] | null;
  /** At most 8 keys. */
  equalProperties: string[];
}

export interface SearchingTicket {
  /** The ticket's id (decimal digits), unique among the tickets of a pass. */
  id: string;
  createdAtMs: number;
  /** 1..16 player ids; a ticket is never split. */
  players: string[];
  skill: number;
  /** 1..8 regions, in the ticket's order of preference. */
  regions: string[];
  properties: Record<string, string | number>;
}

export interface FormedMatch {
  anchorId: string;
  region: string;
  /** In join order, the anchor first. */
  tickets: SearchingTicket[];
  /**
   * With teams, one per team by index, each ticket in the order the balancing placed it; without teams, one team
   * (index 0) with every ticket in join order.
   */
  teams: { index: number; ticketIds: string[]; players: string[] }[];
  /** The anchor's value of each equal property (missing → null). */
  properties: Record<string, string | number | null>;
}
