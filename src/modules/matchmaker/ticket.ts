/** A ticket as the API shows it, and the row it comes from. */
export type TicketState = 'searching' | 'matched' | 'cancelled' | 'expired';
export type EndedReason = 'cancelled' | 'max-wait' | 'pool-deleted' | 'fleet-missing' | 'plan-limit';
export type Properties = Record<string, string | number>;

export interface Ticket {
  id: string;
  pool: string;
  state: TicketState;
  players: string[];
  party_id: string | null;
  skill: number;
  regions: string[];
  properties: Properties;
  created_at: string;
  expires_at: string;
  ended_reason: EndedReason | null;
  match_id: string | null;
}

export interface TicketRow {
  tenant_id?: string;
  project_id?: string;
  id: string;
  pool_id: string;
  state: TicketState;
  players: (string | number | bigint)[];
  party_id: string | null;
  skill: number | string;
  regions: string[];
  properties: Properties;
  created_at: Date | string;
  expires_at: Date | string;
  ended_reason: EndedReason | null;
  match_id: string | null;
}

export const TICKET_COLUMNS = 'id, pool_id, state, players, party_id, skill, regions, properties, created_at, expires_at, ended_reason, match_id';

export function toTicket(row: TicketRow): Ticket {
  return {
    id: String(row.id),
    pool: row.pool_id,
    state: row.state,
    players: row.players.map(String),
    party_id: row.party_id,
    skill: Number(row.skill),
    regions: row.regions,
    properties: row.properties,
    created_at: new Date(row.created_at).toISOString(),
    expires_at: new Date(row.expires_at).toISOString(),
    ended_reason: row.ended_reason,
    match_id: row.match_id === null ? null : String(row.match_id),
  };
}

/** The realtime event each player on a ticket gets at a change of its state (a match sends matchmaker.matched). */
export const TICKET_EVENT = 'matchmaker.ticket';

/** The first property value over 64 bytes of UTF-8 (the schema counts characters), if any. */
export function oversizedProperty(properties: Properties | undefined): string | undefined {
  return Object.entries(properties ?? {}).find(([, value]) => typeof value === 'string' && Buffer.byteLength(value, 'utf8') > 64)?.[0];
}
