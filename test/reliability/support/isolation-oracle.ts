/**
 * What the isolation fuzzer asserts about every answer (no 5xx; none of the victim's markers, secrets or
 * ids) and about the victim's rows (byte-for-byte the same before and after, read as the owner role).
 */
import { createHash } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import type { Database, Queryable } from '../../../src/internal/db/database.js';
import type { ProjectWorld } from './isolation-world.js';

/** What a request carried, so values the caller sent itself are not counted as leaked when echoed. */
export interface SentRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  payload?: string;
}

export const requestText = (request: SentRequest) => `${request.method} ${request.url} ${JSON.stringify(request.headers)} ${request.payload ?? ''}`;

/** Every scalar the request named (path segments, query values, JSON leaves): ids it may see echoed. */
export function requestAtoms(request: SentRequest): Set<string> {
  const atoms = new Set<string>(request.url.split(/[/?&=]/).filter(Boolean));
  for (const value of Object.values(request.headers)) atoms.add(value);
  if (request.payload) {
    try {
      walk(JSON.parse(request.payload), (_key, value) => void atoms.add(String(value)));
    } catch {
      // raw bytes: nothing structured to name
    }
  }
  return atoms;
}

function walk(value: unknown, visit: (key: string, value: unknown, parent: Record<string, unknown>) => void): void {
  if (Array.isArray(value)) {
    for (const item of value) walk(item, visit);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const record = value as Record<string, unknown>;
  for (const [key, child] of Object.entries(record)) {
    if (child !== null && typeof child === 'object') walk(child, visit);
    else visit(key, child, record);
  }
}

function decodedCursors(body: unknown): string {
  const decoded: string[] = [];
  walk(body, (key, value) => {
    if (key === 'next_cursor' && typeof value === 'string') decoded.push(Buffer.from(value, 'base64url').toString('utf8'));
  });
  return decoded.join(' ');
}

/**
 * The victims' values and what one attacker has already named itself. A victim's marker the attacker typed
 * (a board id it tried, an email it signed up with) may come back in its own project's answers; one it
 * never sent (an object body, a version, a token) never may.
 */
export class LeakOracle {
  private readonly secrets: string[];
  private readonly playerIds: Set<string>;
  private readonly allocationIds: Set<string>;
  private readonly known = new Set<string>();

  constructor(victims: ProjectWorld[]) {
    this.secrets = [...new Set(victims.flatMap((v) => v.secrets))];
    this.playerIds = new Set(victims.flatMap((v) => v.playerIds));
    this.allocationIds = new Set(victims.flatMap((v) => v.allocationIds));
  }

  /**
   * Records what a request named and returns the ids it named: markers stay known to this attacker for
   * good (it may have stored them in its own project), ids only for the answer to this request.
   */
  sent(request: SentRequest): Set<string> {
    const text = requestText(request);
    for (const secret of this.secrets) if (text.includes(secret)) this.known.add(secret);
    return requestAtoms(request);
  }

  /** The leaks in one answer (text of a body, or a WebSocket frame), as messages. */
  leaksIn(text: string, headers: Record<string, unknown> = {}, namedIds: Set<string> = new Set()): string[] {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const haystack = `${text} ${JSON.stringify(headers)} ${decodedCursors(parsed)}`;
    const leaks = this.secrets.filter((secret) => !this.known.has(secret) && haystack.includes(secret)).map((secret) => `victim value "${secret}"`);
    walk(parsed, (key, value, parent) => {
      const id = String(value);
      if (namedIds.has(id)) return;
      const isPlayerField = key === 'player_id' || key === 'owner' || (key === 'id' && ('email' in parent || 'username' in parent));
      if (isPlayerField && this.playerIds.has(id)) leaks.push(`victim player id ${key}=${id}`);
      if (key === 'id' && 'game_server' in parent && this.allocationIds.has(id)) leaks.push(`victim allocation id ${id}`);
    });
    return leaks;
  }

  /** The leaks in the answer to `request`. */
  check(request: SentRequest, res: LightMyRequestResponse): string[] {
    return this.leaksIn(res.body, res.headers, this.sent(request));
  }
}

/** Not a 5xx, except the documented 503 (problem `unavailable` with Retry-After). */
export function serverFault(res: LightMyRequestResponse): string | undefined {
  if (res.statusCode < 500) return undefined;
  const documented = res.statusCode === 503 && res.headers['retry-after'] !== undefined && res.body.includes('/problems/unavailable');
  return documented ? undefined : `${res.statusCode} ${res.body.slice(0, 300)}`;
}

// ---- the victim's rows, read as the owner ----

/**
 * Columns excluded from the before/after comparison, each with its reason:
 * - api_keys.last_used_at: the credential resolver writes it fire-and-forget whenever the victim's OWN key is
 *   resolved, i.e. while the victim's data is seeded; that write can land after the first snapshot. No
 *   attacker ever presents a victim's key, so the column carries no signal about the attack.
 */
const EXCLUDED_COLUMNS: Record<string, string[]> = { api_keys: ['last_used_at'] };

/**
 * Tables left out of the before/after comparisons (here and in the bad-input fuzz's referee): usage metering
 * is the server's record of each caller's OWN activity. The setup's sign-ins and requests are flushed on a
 * timer (USAGE_FLUSH_SECONDS) that can land between two snapshots, so these rows change with no attack at
 * all. That usage is counted for the credential's own project, never another's, is test/usage's subject.
 */
export const METERING_TABLES: ReadonlySet<string> = new Set(['usage_hourly', 'usage_mau', 'usage_tenant_hourly']);

interface TenantTable {
  name: string;
  hasProjectId: boolean;
}

async function tenantTables(tx: Queryable): Promise<TenantTable[]> {
  const rows = await tx.query<{ name: string; has_project_id: boolean }>(`
    select c.relname as name,
           exists (select 1 from pg_attribute p where p.attrelid = c.oid and p.attname = 'project_id' and not p.attisdropped) as has_project_id
      from pg_class c
      join pg_namespace n on n.oid = c.relnamespace and n.nspname = 'public'
      join pg_attribute a on a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped
     where c.relkind in ('r', 'p')
     order by c.relname`);
  return rows.map((r) => ({ name: r.name, hasProjectId: r.has_project_id }));
}

export interface TableState {
  count: number;
  sha256: string;
  rows: string[];
}

/**
 * Every row of the scope in every tenant table (from the catalog, so a new table is covered), plus the
 * tenant's own row: a project scope reads its project's rows and the tenant-level rows of its tenant.
 */
export async function snapshotRows(db: Database, scope: { tenantId: string; projectId?: string }): Promise<Map<string, TableState>> {
  return db.operator('isolation fuzz: snapshot', async (tx) => {
    const states = new Map<string, TableState>();
    const read = async (table: string, where: string, params: string[]) => {
      const excluded = EXCLUDED_COLUMNS[table] ?? [];
      const rows = await tx.query<{ row: string }>(
        `select row from (select (to_jsonb(t) - $${params.length + 1}::text[])::text as row from ${table} t where ${where}) s order by row collate "C"`,
        [...params, `{${excluded.join(',')}}`],
      );
      const texts = rows.map((r) => r.row);
      states.set(table, { count: texts.length, sha256: createHash('sha256').update(texts.join('\n')).digest('hex'), rows: texts });
    };
    await read('tenants', 'id = $1', [scope.tenantId]);
    for (const table of await tenantTables(tx)) {
      if (METERING_TABLES.has(table.name)) continue;
      const projectColumn = table.hasProjectId ? 'project_id' : table.name === 'projects' ? 'id' : undefined;
      if (scope.projectId && projectColumn) await read(table.name, `tenant_id = $1 and ${projectColumn} = $2`, [scope.tenantId, scope.projectId]);
      else await read(table.name, 'tenant_id = $1', [scope.tenantId]);
    }
    return states;
  });
}

/** The differences between two snapshots, one message per changed table (with a few changed rows). */
export function snapshotDiff(before: Map<string, TableState>, after: Map<string, TableState>): string[] {
  const diffs: string[] = [];
  for (const table of new Set([...before.keys(), ...after.keys()])) {
    const a = before.get(table);
    const b = after.get(table);
    if (a && b && a.count === b.count && a.sha256 === b.sha256) continue;
    const gone = (a?.rows ?? []).filter((row) => !b?.rows.includes(row)).slice(0, 3);
    const added = (b?.rows ?? []).filter((row) => !a?.rows.includes(row)).slice(0, 3);
    diffs.push(`${table}: ${a?.count ?? 'absent'} → ${b?.count ?? 'absent'} rows; before ${JSON.stringify(gone)}; after ${JSON.stringify(added)}`);
  }
  return diffs;
}
