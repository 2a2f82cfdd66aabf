/**
 * Migration 0007 moves the keys that still answer out of leaderboard_idempotency and fleet_allocations into
 * idempotency_keys, where a retry that straddles the upgrade still replays; its down migration carries them
 * back into the old shape.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import { seedTenant, type Scope } from '../support/fixtures/index.js';
import { loadMigrations, migrateDown, migrateUp, type Migration } from '../../src/internal/db/migrate.js';
import { migrationsDir } from '../../src/internal/paths.js';
import { IdempotencyKeyStore } from '../../src/modules/idempotency/key-store.js';
import type { IdempotentRequest } from '../../src/modules/idempotency/api.js';

// The requests as the routes describe them, hashed as the code before 0007 hashed them.
const submit = ['weekly', '42', '5', '0', null];
const allocation = { fleet: 'arena', labels: {}, metadata: { labels: { mode: 'ranked' }, annotations: {} } };
const sha = (text: string) => createHash('sha256').update(text).digest();
const submitHash = sha(JSON.stringify(submit));
const allocationHash = sha('{"fleet":"arena","labels":{},"metadata":{"annotations":{},"labels":{"mode":"ranked"}}}');

for (const kind of databaseKinds()) {
  describe(`migration 0007: idempotency keys (${kind.name})`, () => {
    let database: TestDatabase;
    let migrations: Migration[];
    /** 0007 and the migrations after it, newest first: what goes down to reach the old shape. */
    let fromSeven: string[];
    let scope: Scope;
    const ids: Record<string, string> = {};
    before(async () => {
      database = await kind.create();
      migrations = await loadMigrations(migrationsDir);
      fromSeven = migrations.filter((m) => m.version >= 7).map((m) => `${String(m.version).padStart(4, '0')}_${m.name}`).reverse();
      assert.equal(fromSeven.at(-1), '0007_idempotency_keys');
      assert.deepEqual(await migrateDown(database.db, migrations, fromSeven.length), fromSeven);
      await database.db.operator('test: the old shape', async (tx) => {
        const { tenantId, projects } = await seedTenant(tx, 'migrated');
        scope = { tenantId, projectId: projects[0] };
        const lb = `insert into leaderboard_idempotency (tenant_id, project_id, caller, key, request_hash, response, created_at)
                    values ($1, $2, $3, $4, $5, $6::text::jsonb, now() - $7::interval)`;
        const answer = JSON.stringify({ player_id: '42', score: '5', subscore: '0', seq: '1', updated_at: '2025-01-01T00:00:00.000Z', rank: 1 });
        await tx.query(lb, [tenantId, projects[0], 'secret', 'lb-live', submitHash, answer, '1 hour']);
        await tx.query(lb, [tenantId, projects[0], 'player:42', 'lb-live', submitHash, answer, '1 hour']);
        await tx.query(lb, [tenantId, projects[0], 'secret', 'lb-old', submitHash, answer, '25 hours']);
        await tx.query(lb, [tenantId, projects[0], 'secret', 'lb-unanswered', submitHash, null, '1 minute']);
        const [fleet] = await tx.query<{ id: string }>(
          `insert into fleets (tenant_id, project_id, name, backend, max_allocations, allocation_ttl_seconds)
           values ($1, $2, 'arena', 'local', 10, 3600) returning id`,
          [tenantId, projects[0]],
        );
        for (const [key, state, age] of [
          ['fa-live', 'Allocated', '1 hour'],
          ['fa-released', 'Released', '2 hours'],
          ['fa-pending', 'Pending', '1 minute'],
          ['fa-old', 'Expired', '25 hours'],
          [null, 'Allocated', '1 minute'],
        ] as const) {
          const [row] = await tx.query<{ id: string }>(
            `insert into fleet_allocations (tenant_id, project_id, fleet_id, backend, state, game_server, address, expires_at, idempotency_key, request_hash, created_at)
             values ($1, $2, $3, 'local', $4, 'gs', '127.0.0.1', now() + interval '1 hour', $5, $6, now() - $7::interval) returning id`,
            [tenantId, projects[0], fleet!.id, state, key, key === null ? null : allocationHash, age],
          );
          ids[key ?? 'none'] = String(row!.id);
        }
      });
      assert.deepEqual(await migrateUp(database.db, migrations), [...fromSeven].reverse());
    });
    after(async () => database?.drop());

    it('moves the keys that still answer, and only those', async () => {
      const rows = await database.db.operator('test', (tx) =>
        tx.query<{ operation: string; caller: string; key: string; answer: Record<string, unknown>; hash: string }>(
          `select operation, caller, key, answer, encode(request_hash, 'hex') as hash from idempotency_keys order by operation, key, caller`,
        ),
      );
      assert.deepEqual(
        rows.map((row) => [row.operation, row.caller, row.key]),
        [
          ['fleet.allocate', 'project', 'fa-live'],
          ['fleet.allocate', 'project', 'fa-released'],
          ['leaderboards.submit', 'player:42', 'lb-live'],
          ['leaderboards.submit', 'secret', 'lb-live'],
        ],
      );
      assert.deepEqual(rows[0]!.answer, { allocation_id: ids['fa-live'] });
      assert.equal(rows[2]!.answer.rank, 1);
      const [gone] = await database.db.operator('test', (tx) =>
        tx.query<{ table: string | null; columns: number }>(
          `select to_regclass('leaderboard_idempotency')::text as table,
                  (select count(*)::int from information_schema.columns
                    where table_name = 'fleet_allocations' and column_name in ('idempotency_key', 'request_hash')) as columns`,
        ),
      );
      assert.deepEqual(gone, { table: null, columns: 0 });
    });

    it('a retry that straddles the upgrade replays the first answer', async () => {
      const keys = new IdempotencyKeyStore(database.db);
      const claim = (request: IdempotentRequest) => database.db.withTenant(scope, (tx) => keys.claim<Record<string, unknown>>(tx, scope, request));
      const submitted = await claim({ operation: 'leaderboards.submit', caller: 'secret', key: 'lb-live', request: submit });
      assert.equal(submitted.status, 'replay');
      const allocated = await claim({ operation: 'fleet.allocate', caller: 'project', key: 'fa-live', request: allocation });
      assert.deepEqual(allocated, { status: 'replay', answer: { allocation_id: ids['fa-live'] } });
    });

    it('migrating down carries the keys back into the old shape', async () => {
      assert.deepEqual(await migrateDown(database.db, migrations, fromSeven.length), fromSeven);
      const [back] = await database.db.operator('test', (tx) =>
        tx.query<{ keys: string[]; allocations: string[]; hashes: boolean; table: string | null }>(
          `select (select array_agg(caller || '/' || key order by caller) from leaderboard_idempotency) as keys,
                  (select array_agg(idempotency_key || '=' || id order by idempotency_key) from fleet_allocations where idempotency_key is not null) as allocations,
                  (select bool_and(request_hash = $1) from fleet_allocations where idempotency_key is not null) as hashes,
                  to_regclass('idempotency_keys')::text as table`,
          [allocationHash],
        ),
      );
      assert.deepEqual(back, {
        keys: ['player:42/lb-live', 'secret/lb-live'],
        allocations: [`fa-live=${ids['fa-live']}`, `fa-released=${ids['fa-released']}`],
        hashes: true,
        table: null,
      });
      assert.deepEqual(await migrateUp(database.db, migrations), [...fromSeven].reverse(), 'and up again');
    });
  });
}
