/**
 * The postgres.js driver logs in the way our own client does, from the same URL: SCRAM-SHA-256 passwords
 * (a wrong one refused as such) and libpq's sslmode / sslrootcert, read by us and given to postgres.js as
 * options (it would pass those URL parameters to the server as settings, which refuses them).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertMigratesOverTls } from '../support/migrated-over-tls.js';
import { loadMigrations, migrateUp } from '../../src/internal/db/migrate.js';
import { migrationsDir } from '../../src/internal/paths.js';
import { openTestPostgres } from '../support/db.js';
import { OwnPostgres, skipUnlessServices } from '../support/services.js';

describe('the postgres.js driver logging in (own PostgreSQL with a password and TLS)', { skip: skipUnlessServices(['postgres']) }, () => {
  let pg: OwnPostgres;
  const password = 'pässword with spaces & symbols';

  const withCredentials = (secret: string, query = '') => {
    const target = new URL(pg.url);
    target.password = encodeURIComponent(secret);
    return target.toString() + query;
  };

  before(async () => {
    pg = await OwnPostgres.create({ password, tls: true });
    // The tenant path switches to ggscale_app, which the first migration creates.
    const db = await openTestPostgres({ url: withCredentials(password), poolSize: 1, statementTimeoutMs: 10_000 }, 'postgres.js');
    try {
      await migrateUp(db, await loadMigrations(migrationsDir));
    } finally {
      await db.close();
    }
  });
  after(() => pg?.destroy());
  /**
   * Whether the connection is encrypted (pg_stat_ssl, which ggscale_app may not read; the request path's
   * connections are made by the same code from the same settings), and that the request path works.
   */
  const sessionInfo = async (url: string) => {
    const db = await openTestPostgres({ url, poolSize: 1, statementTimeoutMs: 5_000 }, 'postgres.js');
    try {
      const [tenant] = await db.tenantQuery<{ role: string }>({ tenantId: '1' }, 'select current_user as role');
      const [owner] = await db.operator('test login', (tx) => tx.query<{ ssl: boolean }>('select ssl from pg_stat_ssl where pid = pg_backend_pid()'));
      return { role: tenant!.role, ssl: owner!.ssl };
    } finally {
      await db.close();
    }
  };

  it('logs in by SCRAM-SHA-256, and a wrong or missing password is refused as such', async () => {
    assert.deepEqual(await sessionInfo(withCredentials(password)), { role: 'ggscale_app', ssl: false });
    await assert.rejects(sessionInfo(withCredentials('wrong')), { code: '28P01' });
    await assert.rejects(sessionInfo(pg.url), { code: '28P01' });
  });

  it('sslmode=require and prefer encrypt; verify-full refuses a certificate it cannot trust, and accepts it with sslrootcert', async () => {
    assert.deepEqual(await sessionInfo(withCredentials(password, '?sslmode=require')), { role: 'ggscale_app', ssl: true });
    assert.deepEqual(await sessionInfo(withCredentials(password, '?sslmode=prefer')), { role: 'ggscale_app', ssl: true });
    await assert.rejects(sessionInfo(withCredentials(password, '?sslmode=verify-full')), /self-signed|certificate/i);
    const trusted = withCredentials(password, `?sslmode=verify-full&sslrootcert=${encodeURIComponent(pg.certificateFile)}`).replace('127.0.0.1', 'localhost');
    assert.deepEqual(await sessionInfo(trusted), { role: 'ggscale_app', ssl: true });
    // The migrator (the owner's postgres.js pool) connects the same way, from the same URL.
    await assertMigratesOverTls(await openTestPostgres({ url: trusted, poolSize: 1, statementTimeoutMs: 10_000 }, 'postgres.js'));
  });
});
