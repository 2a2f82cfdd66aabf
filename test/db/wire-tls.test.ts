/**
 * TLS as libpq's sslmode means it, on a PostgreSQL of our own whose self-signed certificate names only the IP
 * address 127.0.0.1: verify-full checks the certificate against the host in the URL, IP addresses included
 * (no SNI for an IP, as the TLS specification says), and a CancelRequest travels over TLS like the connection
 * it cancels. (A certificate that names only localhost, refused for 127.0.0.1: wire-protocol.test.ts.)
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PgConnection } from '../../src/internal/db/wire/connection.js';
import { parseConnectionUrl } from '../../src/internal/db/wire/connection-options.js';
import { eventually } from '../support/eventually.js';
import { OwnPostgres, skipUnlessServices } from '../support/services.js';

describe('TLS to a server whose certificate names 127.0.0.1 (own PostgreSQL)', { skip: skipUnlessServices(['postgres']) }, () => {
  let pg: OwnPostgres;
  const password = 'tls-test-password';
  const connections: PgConnection[] = [];

  before(async () => {
    pg = await OwnPostgres.create({ password, tls: { subjectAltName: 'IP:127.0.0.1' } });
  });
  after(async () => {
    for (const connection of connections) connection.destroy();
    await pg?.destroy();
  });

  const connect = (host: string, query: string) => {
    const target = new URL(pg.url);
    target.hostname = host;
    target.password = password;
    const connection = new PgConnection(parseConnectionUrl(target.toString() + query, {}), { connectTimeoutMs: 10_000, onClose: () => undefined });
    connections.push(connection);
    return connection;
  };
  const trusting = () => `?sslmode=verify-full&sslrootcert=${encodeURIComponent(pg.certificateFile)}`;

  it('verify-full to 127.0.0.1 accepts the certificate that names that address', async () => {
    const connection = connect('127.0.0.1', trusting());
    assert.deepEqual(await connection.query('select ssl from pg_stat_ssl where pid = pg_backend_pid()'), [{ ssl: true }]);
  });

  it('verify-full to localhost refuses it: the certificate does not name localhost', async () => {
    await assert.rejects(connect('localhost', trusting()).query('select 1'), /localhost|altnames/i);
  });

  it('verify-ca accepts it under either name (the chain is checked, not the name)', async () => {
    const query = `?sslmode=verify-ca&sslrootcert=${encodeURIComponent(pg.certificateFile)}`;
    assert.deepEqual(await connect('localhost', query).query('select 1 as one'), [{ one: 1 }]);
  });

  it('cancel() over TLS stops the running statement, and the connection goes on', async () => {
    const connection = connect('127.0.0.1', trusting());
    assert.deepEqual(await connection.query('select 1 as one'), [{ one: 1 }]);
    const cancelled = assert.rejects(connection.query('select pg_sleep(30) as tls_cancel_probe'), { code: '57014' });
    const watcher = connect('127.0.0.1', trusting());
    await eventually(
      async () => (await watcher.query("select count(*) as n from pg_stat_activity where query like '%tls_cancel_probe%' and state = 'active' and pid <> pg_backend_pid()"))[0]!.n === '1',
      10_000,
      'the statement running',
    );
    await connection.cancel();
    await cancelled;
    assert.deepEqual(await connection.query('select 2 as two'), [{ two: 2 }]);
  });
});
