/**
 * Our PostgreSQL wire-protocol driver (src/internal/db/wire/): the values it reads and writes, one implicit
 * transaction per tenantQuery, statement failures that leave the connection usable, and the ways real
 * servers ask a client to log in (SCRAM-SHA-256 passwords, TLS).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { isDatabaseUnavailable } from '../../src/internal/db/errors.js';
import { PostgresDatabase } from '../../src/internal/db/postgres.js';
import { parseArray, parserFor } from '../../src/internal/db/wire/values.js';
import { assertMigratesOverTls } from '../support/migrated-over-tls.js';
import { createPostgres, type TestDatabase } from '../support/db.js';
import { OwnPostgres, skipUnlessServices } from '../support/services.js';

describe('array text form', () => {
  it('parses quoting, escapes, NULL and nesting', () => {
    const text = (value: string) => value;
    assert.deepEqual(parseArray('{}', text), []);
    assert.deepEqual(parseArray('{a,"b c","d,e","f\\"g","h\\\\i",NULL,"NULL"}', text), ['a', 'b c', 'd,e', 'f"g', 'h\\i', null, 'NULL']);
    assert.deepEqual(parseArray('{{1,2},{3,4}}', Number), [
      [1, 2],
      [3, 4],
    ]);
    assert.deepEqual(parseArray('[0:1]={7,8}', Number), [7, 8]);
    assert.deepEqual(parserFor(1016)('{1,9223372036854775807}'), ['1', '9223372036854775807']);
  });
});

describe('a server that accepts the connection and never answers', () => {
  it('fails the statement as unavailable after the connect timeout, and the process goes on', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    const db = await PostgresDatabase.open({ url: `postgres://postgres@127.0.0.1:${port}/postgres`, poolSize: 1, statementTimeoutMs: 1_000 });
    try {
      const started = Date.now();
      await assert.rejects(db.tenantQuery({ tenantId: '1' }, 'select 1'), (error: unknown) => isDatabaseUnavailable(error));
      assert.ok(Date.now() - started < 15_000);
    } finally {
      await db.close();
      silent.close();
    }
  });
});

const url = process.env.DATABASE_URL;

describe('wire protocol against PostgreSQL', { skip: url ? false : 'needs DATABASE_URL' }, () => {
  let database: TestDatabase;
  let db: PostgresDatabase;

  before(async () => {
    database = await createPostgres(url!);
    db = database.db as PostgresDatabase;
  });
  after(() => database?.drop());

  it('reads each type in the shape the application expects', async () => {
    const [row] = await db.operator('test types', (tx) =>
      tx.query(`select true as yes, false as no, 7::int2 as small, 42 as int, 9223372036854775807::int8 as big, 1.5::float8 as float,
                       12345678901234567890.5::numeric as exact, 'Grüße ✓' as text, '\\x00ff10'::bytea as bytes, ''::bytea as empty,
                       '{"a":[1,"x"]}'::jsonb as doc, '[1,2]'::json as list, '2026-11-24 16:15:38.123+00'::timestamptz as at,
                       '11111111-2222-3333-4444-555555555555'::uuid as id, array['a', 'b,c', null] as texts, array[1, 2]::int8[] as ids,
                       null::text as nothing`),
    );
    assert.deepEqual(row, {
      yes: true,
      no: false,
      small: 7,
      int: 42,
      big: '9223372036854775807',
      float: 1.5,
      exact: '12345678901234567890.5',
      text: 'Grüße ✓',
      bytes: Buffer.from([0, 255, 16]),
      empty: Buffer.alloc(0),
      doc: { a: [1, 'x'] },
      list: [1, 2],
      at: new Date('2026-11-24T16:15:38.123Z'),
      id: '11111111-2222-3333-4444-555555555555',
      texts: ['a', 'b,c', null],
      ids: ['1', '2'],
      nothing: null,
    });
  });

  it('sends each parameter type so that it arrives as itself', async () => {
    const at = new Date('2026-01-02T03:04:05.678Z');
    const bytes = Buffer.from([0, 1, 2, 250, 255]);
    const [row] = await db.operator('test params', (tx) =>
      tx.query<{ at: Date; bytes: Buffer; flag: boolean; big: string; text: string; nothing: null; kind: string }>(
        'select $1 as at, $2 as bytes, $3 as flag, $4 as big, $5::text as text, $6::text as nothing, pg_typeof($1)::text as kind',
        [at, bytes, true, 9007199254740993n, 'a\'b"c', null],
      ),
    );
    assert.deepEqual(row, { at, bytes, flag: true, big: '9007199254740993', text: 'a\'b"c', nothing: null, kind: 'timestamp with time zone' });
    // A Uint8Array that is a view into a larger buffer sends only its own bytes.
    const view = new Uint8Array([9, 1, 2, 3, 9]).subarray(1, 4);
    const [viewed] = await db.operator('test view', (tx) => tx.query<{ b: Buffer }>('select $1::bytea as b', [view]));
    assert.deepEqual(viewed!.b, Buffer.from([1, 2, 3]));
  });

  it('reads a large value that arrives over many socket reads', async () => {
    const [row] = await db.operator('test large', (tx) =>
      tx.query<{ blob: Buffer; text: string }>("select decode(repeat('ab', 3 * 1024 * 1024), 'hex') as blob, repeat('é', 500000) as text"),
    );
    assert.equal(row!.blob.length, 3 * 1024 * 1024);
    assert.ok(row!.blob.every((byte) => byte === 0xab));
    assert.equal(row!.text, 'é'.repeat(500_000));
  });

  it('tenantQuery runs scope and statement as one transaction that ends with it', async () => {
    const single = await PostgresDatabase.open({ url: database.url!, poolSize: 1, statementTimeoutMs: 5_000 });
    try {
      // The scope's settings are transaction-local: seeing them, the statement ran in the scope's transaction.
      const inside = await single.tenantQuery({ tenantId: '5', projectId: '6' }, "select current_setting('app.tenant_id') as tenant, current_user as role");
      assert.deepEqual(inside, [{ tenant: '5', role: 'ggscale_app' }]);
      // The same (only) connection afterwards: the transaction and its settings are over.
      const [afterwards] = await single.operator('test after', (tx) =>
        tx.query<{ tenant: string | null; role: string }>("select nullif(current_setting('app.tenant_id', true), '') as tenant, current_user as role"),
      );
      assert.deepEqual(afterwards, { tenant: null, role: 'postgres' });
    } finally {
      await single.close();
    }
  });

  it('a failing statement rejects with its SQLSTATE, keeps nothing, and the connection goes on', async () => {
    const single = await PostgresDatabase.open({ url: database.url!, poolSize: 1, statementTimeoutMs: 5_000 });
    try {
      await single.operator('test table', (tx) => tx.query('create table wire_probe (n int primary key)'));
      await single.operator('test seed', (tx) => tx.query('insert into wire_probe values (1)'));
      await assert.rejects(single.operator('test duplicate', (tx) => tx.query('insert into wire_probe values (1)')), { code: '23505', constraint_name: 'wire_probe_pkey' });
      await assert.rejects(single.tenantQuery({ tenantId: '1' }, 'select $1::bigint', ['x']), { code: '22P02' });
      // A statement the server could not prepare is prepared again next time (same error, not "does not exist").
      for (let round = 0; round < 2; round++) await assert.rejects(single.tenantQuery({ tenantId: '1' }, 'selec 1'), { code: '42601' });
      // Statements queued behind a failure in the same transaction: the transaction is aborted, nothing kept.
      await assert.rejects(
        single.operator('test aborted', async (tx) => {
          const first = tx.query('insert into wire_probe values (2)');
          const second = tx.query('insert into wire_probe values (1)');
          const third = tx.query('insert into wire_probe values (3)');
          await first;
          await Promise.allSettled([second, third]);
          await third;
        }),
        { code: '25P02' },
      );
      const rows = await single.operator('test read', (tx) => tx.query<{ n: number }>('select n from wire_probe order by n'));
      assert.deepEqual(rows, [{ n: 1 }]);
    } finally {
      await single.close();
    }
  });
});

describe('logging in to a server that asks for more (own PostgreSQL)', { skip: skipUnlessServices(['postgres']) }, () => {
  let pg: OwnPostgres;
  const password = 'pässword with spaces & symbols';

  before(async () => {
    pg = await OwnPostgres.create({ password, tls: true });
  });
  after(() => pg?.destroy());

  const withCredentials = (secret: string, query = '') => {
    const target = new URL(pg.url);
    target.password = encodeURIComponent(secret);
    return target.toString() + query;
  };
  const sessionInfo = async (connectionUrl: string) => {
    const db = await PostgresDatabase.open({ url: connectionUrl, poolSize: 1, statementTimeoutMs: 5_000 });
    try {
      const [row] = await db.operator('test login', (tx) => tx.query<{ ssl: boolean }>('select ssl from pg_stat_ssl where pid = pg_backend_pid()'));
      return row!;
    } finally {
      await db.close();
    }
  };

  it('logs in by SCRAM-SHA-256, and a wrong password is refused as such', async () => {
    assert.deepEqual(await sessionInfo(withCredentials(password)), { ssl: false });
    await assert.rejects(sessionInfo(withCredentials('wrong')), { code: '28P01' });
    await assert.rejects(sessionInfo(pg.url), { code: '28P01' });
  });

  it('sslmode=require encrypts; verify-full refuses a certificate it cannot trust', async () => {
    assert.deepEqual(await sessionInfo(withCredentials(password, '?sslmode=require')), { ssl: true });
    assert.deepEqual(await sessionInfo(withCredentials(password, '?sslmode=prefer')), { ssl: true });
    await assert.rejects(sessionInfo(withCredentials(password, '?sslmode=verify-full')), /self-signed|certificate/i);
    // Trusting that certificate (sslrootcert), verify-full accepts it for localhost, the one name it has, and
    // refuses it for 127.0.0.1 (the host the URL names is the one checked; wire-tls.test.ts: a certificate for
    // the IP address).
    const trustedByIp = withCredentials(password, `?sslmode=verify-full&sslrootcert=${encodeURIComponent(pg.certificateFile)}`);
    await assert.rejects(sessionInfo(trustedByIp), /127\.0\.0\.1/);
    const trusted = trustedByIp.replace('127.0.0.1', 'localhost');
    assert.deepEqual(await sessionInfo(trusted), { ssl: true });
    // The migrator (postgres.js) connects the same way, from the same URL.
    await assertMigratesOverTls(await PostgresDatabase.open({ url: trusted, poolSize: 1, statementTimeoutMs: 10_000 }));
  });
});
