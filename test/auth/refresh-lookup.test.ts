/**
 * Regression (found by the soak): a refresh must find its token through the token's unique index, reading a
 * handful of rows however many sessions the project has. The embedded database runs no autovacuum, so its
 * tables never had planner statistics; without them the planner could not tell the indexes that share the
 * (tenant_id, project_id) prefix apart, and looked the token up by the session index, joining every session
 * of the project against every refresh token of it: O(sessions × tokens) per refresh. The soak's refresh
 * p50 rose past 350 ms and the whole embedded server slowed down behind it. PgliteDatabase now refreshes
 * the statistics itself (ANALYZE on a timer); on PostgreSQL autovacuum does it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createPglite, databaseKinds, type TestDatabase } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import { REFRESH_LOOKUP_SQL } from '../../src/modules/auth/sessions.js';

const SESSIONS = 300;
const TOKENS_PER_SESSION = 3;

interface PlanNode {
  'Node Type': string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Join Filter'?: number;
  Plans?: PlanNode[];
}

/** Rows every node of the plan produced or read and threw away, over all its loops. */
function rowsTouched(node: PlanNode): number {
  const loops = node['Actual Loops'] ?? 1;
  const own = ((node['Actual Rows'] ?? 0) + (node['Rows Removed by Filter'] ?? 0) + (node['Rows Removed by Join Filter'] ?? 0)) * loops;
  return own + (node.Plans ?? []).reduce((sum, child) => sum + rowsTouched(child), 0);
}

const tokenFor = (sessionId: string, n: number) => `rt-${sessionId}-${n}`;

for (const kind of databaseKinds()) {
  describe(`refresh-token lookup (${kind.name})`, () => {
    let database: TestDatabase;
    const scope = { tenantId: '', projectId: '' };
    let sessionId = '';

    before(async () => {
      // The embedded database's statistics pass runs every 200 ms here instead of every minute.
      database = kind.name === 'pglite' ? await createPglite({ maintenanceIntervalMs: 200 }) : await kind.create();
      await database.db.operator('test seed', async (tx) => {
        const [tenant] = await tx.query<{ id: string }>("insert into tenants (name) values ('refresh-lookup') returning id");
        const [project] = await tx.query<{ id: string }>("insert into projects (tenant_id, name) values ($1, 'game') returning id", [tenant!.id]);
        scope.tenantId = String(tenant!.id);
        scope.projectId = String(project!.id);
        await tx.query('insert into players (tenant_id, project_id) select $1, $2 from generate_series(1, $3::int)', [scope.tenantId, scope.projectId, SESSIONS]);
        await tx.query(
          `insert into sessions (tenant_id, project_id, id, player_id)
           select tenant_id, project_id, gen_random_uuid(), id from players where tenant_id = $1 and project_id = $2`,
          [scope.tenantId, scope.projectId],
        );
        await tx.query(
          `insert into refresh_tokens (tenant_id, project_id, session_id, token_hash, access_issued_at, access_expires_at, access_kid, expires_at)
           select s.tenant_id, s.project_id, s.id, sha256(convert_to('rt-' || s.id::text || '-' || n, 'UTF8')), now(), now(), 'kid', now() + interval '1 day'
             from sessions s, generate_series(1, $3::int) as n
            where s.tenant_id = $1 and s.project_id = $2`,
          [scope.tenantId, scope.projectId, TOKENS_PER_SESSION],
        );
        const [some] = await tx.query<{ id: string }>('select id from sessions where tenant_id = $1 and project_id = $2 order by id limit 1 offset 150', [
          scope.tenantId,
          scope.projectId,
        ]);
        sessionId = some!.id;
      });
    });
    after(() => database.drop());

    const rowsTouchedByLookup = async (hash: Buffer): Promise<number> => {
      const [explained] = await database.db.withTenant(scope, (tx) => tx.query<{ 'QUERY PLAN': unknown }>(`explain (analyze, format json) ${REFRESH_LOOKUP_SQL}`, [hash]));
      const raw = explained!['QUERY PLAN'];
      const plan = (typeof raw === 'string' ? JSON.parse(raw) : raw) as { Plan: PlanNode }[];
      return rowsTouched(plan[0]!.Plan);
    };

    it(`finds the token of one of ${SESSIONS} sessions reading a handful of rows, once statistics are kept`, async () => {
      const hash = createHash('sha256').update(tokenFor(sessionId, 2)).digest();
      const [found] = await database.db.withTenant(scope, (tx) => tx.query<{ session_id: string }>(REFRESH_LOOKUP_SQL, [hash]));
      assert.equal(found?.session_id, sessionId);
      // On PostgreSQL, autovacuum's analyze keeps the statistics; here it is run by hand rather than waited for.
      if (kind.name === 'postgres') await database.db.operator('test: analyze, as autovacuum would', (tx) => tx.query('analyze'));
      let touched = NaN;
      await eventually(async () => (touched = await rowsTouchedByLookup(hash)) <= 20, 10_000, 'the lookup reads a handful of rows').catch(() =>
        assert.fail(`the lookup touched ${touched} rows (${SESSIONS} sessions × ${TOKENS_PER_SESSION} tokens in the project)`),
      );
    });
  });
}
