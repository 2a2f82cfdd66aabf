/** Shared set-up of the parties suites: the chat suites' nodes, players and op helpers, plus party shortcuts. */
import assert from 'node:assert/strict';
import type { Client } from '../realtime/helpers.js';
import { ok, take, waitFor, type Frame } from '../chat/helpers.js';

export { op, ok, projectWithPlayers, refusedOp, setLimits, startNode, startSuite, take, waitFor, type Frame, type Node, type Suite } from '../chat/helpers.js';

/** The request budgets are not under test; PARTY_DATA_PER_SECOND only where a test sets it. */
export const PARTY_ENV = { PARTY_DATA_PER_SECOND: '10000' };

export interface PartyJson {
  id: string;
  leader_id: string;
  open: boolean;
  max_size: number;
  label: string | null;
  members: { player_id: string; username: string | null; joined_at: string; connected: boolean }[];
  invites: { player_id: string; expires_at: string }[];
  version: number;
  created_at: string;
}

export async function create(client: Client, fields: Record<string, unknown> = {}): Promise<PartyJson> {
  return (await ok(client, { op: 'party.create', ...fields })).party as PartyJson;
}

export async function get(client: Client, partyId: string): Promise<PartyJson> {
  return (await ok(client, { op: 'party.get', party_id: partyId })).party as PartyJson;
}

/** Waits for the client's next event of this op (removed from its queue, with those before it of the same op). */
export async function nextEvent(client: Client, op: string, match: (frame: Frame) => boolean = () => true, deadlineMs = 5_000): Promise<Frame> {
  const index = await waitFor(client, (f) => f.op === op && match(f as Frame), deadlineMs, `a ${op} event`);
  return client.frames.splice(index, 1)[0] as Frame;
}

/** The party events a client holds (presence and leader), in arrival order; removed from its queue. */
export function partyEvents(client: Client): Frame[] {
  const events = (client.frames as Frame[]).filter((f) => f.op === 'party.presence' || f.op === 'party.leader');
  take(client, 'party.presence');
  take(client, 'party.leader');
  return events;
}

export const memberIds = (party: PartyJson): string[] => party.members.map((m) => m.player_id);

export function assertVersionOrder(events: readonly Frame[]): void {
  const versions = events.map((e) => e.version as number);
  for (let i = 1; i < versions.length; i++) assert.ok(versions[i]! >= versions[i - 1]!, `versions in order: ${versions.join(',')}`);
}
