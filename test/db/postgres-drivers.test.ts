/**
 * The Database contract on real PostgreSQL, on both clients (DATABASE_DRIVER wire and postgres.js), whatever
 * DATABASE_DRIVER the run chose: the same JavaScript shapes for every column type, the same text for every
 * parameter type, the same error fields, one transaction per tenantQuery, one statement per call, and
 * transactions that never outlive a lost connection (the next statement of a transaction whose connection
 * died fails; it never runs on a new session, outside the transaction and its tenant scope).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import postgres from 'postgres';
import { isDatabaseUnavailable } from '../../src/internal/db/errors.js';
import type { PostgresDriverDatabase } from '../../src/internal/db/open.js';
import { POSTGRES_DRIVERS, createPostgres, openTestPostgres, type TestDatabase } from '../support/db.js';

const url = process.env.DATABASE_URL;

for (const driver of POSTGRES_DRIVERS) {
  describe(`the Database contract on PostgreSQL (${driver})`, { skip: url ? false : 'needs DATABASE_URL' }, () => {
    let database: TestDatabase;
    let db: PostgresDriverDatabase;
    /** One connection: what one statement leaves behind is what the next one finds. */
    let single: PostgresDriverDatabase;

    before(async () => {
      database = await createPostgres(url!, driver);
      db = database.db as PostgresDriverDatabase;
      single = await openTestPostgres({ url: database.url!, poolSize: 1, statementTimeoutMs: 5_000 }, driver);
      await db.operator('test table', async (tx) => {
        await tx.query('create table driver_probe (n int primary key, note text)');
        await tx.query('grant all on driver_probe to ggscale_app');
      });
    });
    after(async () => {
      await single?.close();
      await database?.drop();
    });

    it('reads each column type in the shape the application expects', async () => {
      const [row] = await db.operator('test types', (tx) =>
        tx.query(`select true as yes, 7::int2 as small, 42 as int, 9223372036854775807::int8 as big, 26::oid as oid, 1.5::float4 as single,
                         'NaN'::float8 as nan, 12345678901234567890.5::numeric as exact, 'Grüße ✓' as text, 'c'::"char" as letter,
                         '\\x00ff10'::bytea as bytes, ''::bytea as empty, '{"a":[1,"x"]}'::jsonb as doc, '"just text"'::json as scalar,
                         '2026-11-24 16:15:38.123+00'::timestamptz as at, '2026-11-24 16:15:38'::timestamp as local, '2026-11-24'::date as day,
                         '11111111-2222-3333-4444-555555555555'::uuid as id, interval '1 day' as span, 'x=>1'::text as arrow,
                         array['a', 'b,c', null, '"q"', 'back\\slash', ''] as texts, array[1, 2]::int8[] as ids, array[1, null, 3]::int4[] as ints,
                         array[true, false] as flags, array[1.5, 2]::float8[] as floats, array['{"k":1}'::jsonb] as docs,
                         array['2026-01-02T03:04:05Z'::timestamptz] as ats, array['0.1'::numeric] as exacts,
                         array['11111111-2222-3333-4444-555555555555'::uuid] as ids2, array['\\x01'::bytea] as blobs,
                         array[array[1, 2], array[3, 4]] as grid, '{}'::int4[] as none, null::text as nothing`),
      );
      assert.deepEqual(row, {
        yes: true,
        small: 7,
        int: 42,
        big: '9223372036854775807',
        oid: 26,
        single: 1.5,
        nan: NaN,
        exact: '12345678901234567890.5',
        text: 'Grüße ✓',
        letter: 'c',
        bytes: Buffer.from([0, 255, 16]),
        empty: Buffer.alloc(0),
        doc: { a: [1, 'x'] },
        scalar: 'just text',
        at: new Date('2026-11-24T16:15:38.123Z'),
        local: new Date('2026-11-24 16:15:38'),
        day: new Date('2026-11-24'),
        id: '11111111-2222-3333-4444-555555555555',
        span: '1 day',
        arrow: 'x=>1',
        texts: ['a', 'b,c', null, '"q"', 'back\\slash', ''],
        ids: ['1', '2'],
        ints: [1, null, 3],
        flags: [true, false],
        floats: [1.5, 2],
        docs: [{ k: 1 }],
        ats: [new Date('2026-01-02T03:04:05Z')],
        exacts: ['0.1'],
        ids2: ['11111111-2222-3333-4444-555555555555'],
        blobs: [Buffer.from([1])],
        grid: [
          [1, 2],
          [3, 4],
        ],
        none: [],
        nothing: null,
      });
    });

    it('answers with plain arrays of plain rows', async () => {
      const rows = await db.tenantQuery({ tenantId: '1' }, 'select 1 as one');
      assert.equal(Object.getPrototypeOf(rows), Array.prototype);
      assert.equal(Object.getPrototypeOf(rows[0]), Object.prototype);
      assert.deepEqual(await db.tenantQuery({ tenantId: '1' }, 'select 1 as one where false'), []);
    });

    it('sends each parameter by its JavaScript type, never re-encoded by the type the server infers', async () => {
      const at = new Date('2026-01-02T03:04:05.678Z');
      const bytes = Buffer.from([0, 1, 2, 250, 255]);
      const view = new Uint8Array([9, 1, 2, 3, 9]).subarray(1, 4);
      const [row] = await db.operator('test params', (tx) =>
        tx.query(
          `select $1 as at, $2 as bytes, $3 as flag, $4 as big, $5::text as text, $6::text as nothing, pg_typeof($1)::text as kind,
                  $7::jsonb as doc, $8::boolean as yes, $9::date as day, $10::int as n, $11::bytea as view, $12::numeric as exact,
                  $13::text[] as list, $14::timestamptz as stamp`,
          [at, bytes, true, 9007199254740993n, 'a\'b"c', null, '{"k":[1,2]}', 'true', '2026-03-04', 7, view, '0.30000000000000004', '{x,"y z"}', '2026-01-02 03:04:05+00'],
        ),
      );
      assert.deepEqual(row, {
        at,
        bytes,
        flag: true,
        big: '9007199254740993',
        text: 'a\'b"c',
        nothing: null,
        kind: 'timestamp with time zone',
        doc: { k: [1, 2] },
        yes: true,
        day: new Date('2026-03-04'),
        n: 7,
        view: Buffer.from([1, 2, 3]),
        exact: '0.30000000000000004',
        list: ['x', 'y z'],
        stamp: new Date('2026-01-02T03:04:05Z'),
      });
      // A value stored through a jsonb parameter reads back as itself (not as a JSON string of its text).
      await db.operator('test json', (tx) => tx.query("insert into driver_probe (n, note) values (1, ($1::jsonb)->>'note')", ['{"note":"stored"}']));
      assert.deepEqual(await db.operator('test json read', (tx) => tx.query('select note from driver_probe where n = 1')), [{ note: 'stored' }]);
    });

    it('fails with the SQLSTATE and constraint, keeps nothing, and the connection goes on', async () => {
      await single.operator('test seed', (tx) => tx.query("insert into driver_probe (n) values (100)"));
      await assert.rejects(single.operator('test duplicate', (tx) => tx.query('insert into driver_probe (n) values (100)')), {
        code: '23505',
        constraint_name: 'driver_probe_pkey',
      });
      await assert.rejects(single.tenantQuery({ tenantId: '1' }, 'select $1::bigint', ['x']), { code: '22P02' });
      for (let round = 0; round < 2; round++) await assert.rejects(single.tenantQuery({ tenantId: '1' }, 'selec 1'), { code: '42601' });
      // One statement per call, as the extended protocol allows: no second statement rides along.
      await assert.rejects(single.operator('test two', (tx) => tx.query('select 1; select 2')), { code: '42601' });
      await assert.rejects(
        single.operator('test aborted', async (tx) => {
          const first = tx.query('insert into driver_probe (n) values (101)');
          const second = tx.query('insert into driver_probe (n) values (100)');
          const third = tx.query('insert into driver_probe (n) values (102)');
          await first;
          await Promise.allSettled([second, third]);
          await third;
        }),
        { code: '25P02' },
      );
      const rows = await single.operator('test read', (tx) => tx.query<{ n: number }>('select n from driver_probe where n >= 100 order by n'));
      assert.deepEqual(rows, [{ n: 100 }]);
    });

    it('tenantQuery is one transaction in the scope, and nothing of it outlives it', async () => {
      const inside = await single.tenantQuery({ tenantId: '5', projectId: '6' }, "select current_setting('app.tenant_id') as tenant, current_setting('app.project_id') as project, current_user as role");
      assert.deepEqual(inside, [{ tenant: '5', project: '6', role: 'ggscale_app' }]);
      const [afterwards] = await single.operator('test after', (tx) =>
        tx.query<{ tenant: string | null; role: string; open: boolean }>(
          "select nullif(current_setting('app.tenant_id', true), '') as tenant, current_user as role, now() = statement_timestamp() as open",
        ),
      );
      assert.deepEqual(afterwards, { tenant: null, role: 'postgres', open: false });
      // A failing statement rolls the scope back with it; the connection is idle again.
      await assert.rejects(single.tenantQuery({ tenantId: '5' }, 'select 1/0'), { code: '22012' });
      const [idle] = await single.operator('test idle', (tx) => tx.query<{ tenant: string | null }>("select nullif(current_setting('app.tenant_id', true), '') as tenant"));
      assert.equal(idle!.tenant, null);
    });

    it('a connection lost while its transaction is idle: the next statement fails, and never runs outside the transaction', async () => {
      const admin = postgres(url!, { max: 1, onnotice: () => undefined });
      try {
        const outcome = await single
          .withTenant({ tenantId: '7' }, async (tx) => {
            const [me] = await tx.query<{ pid: number }>('select pg_backend_pid() as pid');
            await tx.query("insert into driver_probe (n, note) values (200, 'lost with its transaction')");
            await admin`select pg_terminate_backend(${me!.pid})`;
            // Give the client every chance to notice the close and to open a new connection.
            await sleep(300);
            await tx.query("insert into driver_probe (n, note) values (201, 'must never be written')");
          })
          .then(
            () => 'committed',
            (error: unknown) => error,
          );
        assert.ok(isDatabaseUnavailable(outcome), `not mapped to 503: ${String(outcome)}`);
        const rows = await single.operator('test lost', (tx) => tx.query('select n from driver_probe where n in (200, 201)'));
        assert.deepEqual(rows, []);
      } finally {
        await admin.end();
      }
    });
  });
}
