/** The idempotency module's background purge: keys past their 24 h go, in batches, and nothing else does. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import { seedTenant } from '../support/fixtures/index.js';
import { LogCapture } from '../support/app.js';
import { IdempotencyPurge } from '../../src/modules/idempotency/purge.js';
import { createLogger } from '../../src/internal/telemetry/logger.js';

for (const kind of databaseKinds()) {
  describe(`idempotency purge (${kind.name})`, () => {
    let database: TestDatabase;
    before(async () => {
      database = await kind.create();
    });
    after(async () => database?.drop());

    it('deletes every key older than 24 h across tenants, batch by batch, and keeps the rest', async () => {
      await database.db.operator('test seed', async (tx) => {
        for (const name of ['purge-a', 'purge-b']) {
          const { tenantId, projects } = await seedTenant(tx, name);
          // Per project: 3 expired keys, one just inside its 24 h, one fresh, one fresh still in progress.
          for (const projectId of projects) {
            for (const [key, age, answer] of [
              ['old-1', '25 hours', '{}'],
              ['old-2', '3 days', '{}'],
              ['old-3', '24 hours 1 second', null],
              ['almost', '23 hours 59 minutes', '{}'],
              ['fresh', '0 seconds', '{}'],
              ['pending', '0 seconds', null],
            ] as const) {
              await tx.query(
                `insert into idempotency_keys (tenant_id, project_id, operation, caller, key, request_hash, answer, created_at)
                 values ($1, $2, 'test.op', 'secret', $3, sha256(convert_to($3, 'UTF8')), $4::text::jsonb, now() - $5::interval)`,
                [tenantId, projectId, key, answer, age],
              );
            }
          }
        }
      });
      const logger = createLogger({ level: 'silent', destination: new LogCapture() });
      // 12 expired keys in batches of 5: three transactions in one pass.
      assert.equal(await new IdempotencyPurge(database.db, logger, { intervalMs: 0, batchSize: 5 }).pass(), 12);
      const left = await database.db.operator('test', (tx) => tx.query<{ key: string; n: number }>('select key, count(*)::int as n from idempotency_keys group by key order by key'));
      assert.deepEqual(left, [
        { key: 'almost', n: 4 },
        { key: 'fresh', n: 4 },
        { key: 'pending', n: 4 },
      ]);
      assert.equal(await new IdempotencyPurge(database.db, logger, { intervalMs: 0 }).pass(), 0, 'a second pass finds nothing');
    });

    it('bounds the work of one pass; the next pass goes on', async () => {
      await database.db.operator('test seed', async (tx) => {
        const { tenantId, projects } = await seedTenant(tx, 'purge-bounded');
        await tx.query(
          `insert into idempotency_keys (tenant_id, project_id, operation, caller, key, request_hash, answer, created_at)
           select $1, $2, 'test.op', 'secret', 'k-' || i, sha256(convert_to('k-' || i, 'UTF8')), '{}', now() - interval '2 days'
             from generate_series(1, 7) as i`,
          [tenantId, projects[0]],
        );
      });
      const logger = createLogger({ level: 'silent', destination: new LogCapture() });
      const purge = new IdempotencyPurge(database.db, logger, { intervalMs: 0, batchSize: 2, batchesPerPass: 2 });
      assert.equal(await purge.pass(), 4);
      assert.equal(await purge.pass(), 3);
      assert.equal(await purge.pass(), 0);
    });

    it('runs as a background job on its interval, until stopped', async () => {
      const { tenantId, projects } = await database.db.operator('test seed', (tx) => seedTenant(tx, 'purge-job'));
      await database.db.operator('test seed', (tx) =>
        tx.query(
          `insert into idempotency_keys (tenant_id, project_id, operation, caller, key, request_hash, created_at)
           values ($1, $2, 'test.op', 'secret', 'job', sha256(convert_to('job', 'UTF8')), now() - interval '2 days')`,
          [tenantId, projects[0]],
        ),
      );
      const logger = createLogger({ level: 'silent', destination: new LogCapture() });
      const job = new IdempotencyPurge(database.db, logger, { intervalMs: 20 });
      const left = async () => (await database.db.operator('test', (tx) => tx.query<{ n: number }>(`select count(*)::int as n from idempotency_keys where key = 'job'`)))[0]!.n;
      job.start();
      try {
        const deadline = Date.now() + 10_000;
        while ((await left()) > 0) {
          assert.ok(Date.now() < deadline, 'the job purged the expired key within 10 s');
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      } finally {
        await job.stop();
      }
    });
  });
}
