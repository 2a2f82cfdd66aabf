/**
 * The deployment namespace (it names every Redis key and channel, and the default token issuer): made by
 * the database once, kept by a copy or a restore of it (it is data), new in every fresh database, readable
 * by the runtime role and changed by nobody at run time. PGlite always; PostgreSQL when DATABASE_URL is set.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { PgliteDatabase } from '../../src/internal/db/pglite.js';
import type { Database } from '../../src/internal/db/database.js';
import { createPglite, createPostgres, type TestDatabase } from '../support/db.js';
import { freshDatabase, namespaceOf, onServer, openPostgres } from '../support/deployments.js';

const NAMESPACE = /^[0-9a-f]{16}$/;

/** Runs one statement as the runtime role ggscale_app (inside a transaction that is then rolled back). */
async function asApp(db: Database, text: string): Promise<Record<string, unknown>[]> {
  const rolledBack = new Error('roll back');
  let rows: Record<string, unknown>[] = [];
  await db
    .operator('test: as ggscale_app', async (tx) => {
      await tx.query("select set_config('role', 'ggscale_app', true)");
      rows = await tx.query(text);
      throw rolledBack;
    })
    .catch((error: unknown) => {
      if (error !== rolledBack) throw error;
    });
  return rows;
}

describe('deployment namespace (pglite)', () => {
  const opened: TestDatabase[] = [];
  let copyOne: TestDatabase;
  before(async () => {
    copyOne = await createPglite();
    opened.push(copyOne);
  });
  after(async () => {
    for (const database of opened) await database.drop();
  });

  it('copies of one database keep its namespace; a fresh database makes another; a dump loads with it', async () => {
    const copyTwo = await createPglite();
    opened.push(copyTwo);
    const kept = await namespaceOf(copyOne.db);
    assert.match(kept, NAMESPACE);
    assert.equal(await namespaceOf(copyTwo.db), kept, 'two copies of one migrated database are one deployment');

    const fresh = await freshDatabase('pglite');
    opened.push(fresh);
    const made = await namespaceOf(fresh.db);
    assert.match(made, NAMESPACE);
    assert.notEqual(made, kept, 'a database migrated from nothing is a deployment of its own');

    const dump = await (fresh.db as PgliteDatabase).dump();
    const restored = await PgliteDatabase.open({ loadDataDir: dump, statementTimeoutMs: 10_000 });
    opened.push({ db: restored, drop: () => restored.close() });
    assert.equal(await namespaceOf(restored), made, 'a restored dump keeps its namespace');
  });

  it('the runtime role reads it and cannot change it', async () => {
    const database = copyOne;
    const namespace = await namespaceOf(database.db);
    assert.deepEqual(await asApp(database.db, 'select namespace from deployment'), [{ namespace }]);
    for (const statement of [
      `update deployment set namespace = '${'0'.repeat(16)}'`,
      'delete from deployment',
      `insert into deployment (namespace) values ('${'1'.repeat(16)}')`,
    ]) {
      await assert.rejects(asApp(database.db, statement), (error: { code?: string }) => error.code === '42501', statement);
    }
  });

  it('holds exactly one row', async () => {
    await assert.rejects(
      copyOne.db.operator('test', (tx) => tx.query(`insert into deployment (namespace) values ('${'2'.repeat(16)}')`)),
      'a second namespace is refused even to the owner',
    );
  });
});

describe('deployment namespace (postgres)', { skip: process.env.DATABASE_URL ? false : 'DATABASE_URL not set' }, () => {
  const opened: TestDatabase[] = [];
  after(async () => {
    for (const database of opened) await database.drop();
  });

  it('two fresh databases differ; CREATE DATABASE … TEMPLATE keeps the namespace', async () => {
    const one = await freshDatabase('postgres');
    const two = await freshDatabase('postgres');
    opened.push(one, two);
    const first = await namespaceOf(one.db);
    const second = await namespaceOf(two.db);
    assert.match(first, NAMESPACE);
    assert.match(second, NAMESPACE);
    assert.notEqual(first, second);

    // A template must have no open connections: close the first database's pool, copy it, reopen both.
    const source = new URL(one.url!).pathname.slice(1);
    await one.db.close();
    opened.splice(opened.indexOf(one), 1);
    const copy = `ggscale_t_${randomBytes(6).toString('hex')}`;
    await onServer([`create database "${copy}" template "${source}"`]);
    const reopened = await openPostgres(source);
    const copied = await openPostgres(copy);
    opened.push(reopened, copied);
    assert.equal(await namespaceOf(copied.db), first, 'a copied (restored) database keeps its namespace');
    assert.equal(await namespaceOf(reopened.db), first);
  });

  it('the runtime role reads it and cannot change it', async () => {
    const database = await createPostgres(process.env.DATABASE_URL!);
    opened.push(database);
    const namespace = await namespaceOf(database.db);
    assert.deepEqual(await asApp(database.db, 'select namespace from deployment'), [{ namespace }]);
    await assert.rejects(asApp(database.db, "update deployment set namespace = '0000000000000000'"), (error: { code?: string }) => error.code === '42501');
    await assert.rejects(asApp(database.db, 'delete from deployment'), (error: { code?: string }) => error.code === '42501');
  });
});
