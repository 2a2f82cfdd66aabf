/**
 * No secret reaches the log. A real ggscale process at LOG_LEVEL=trace (everything debug logs, and more)
 * is driven through a full run: the operator bootstrap, API keys (one revoked), players signing up and in
 * with passwords (also wrong, malformed and over-long ones), refresh and logout (also a reused refresh
 * token), Authorization and Cookie headers (also bad ones), storage, leaderboards, realtime with the token
 * in the query and in the header, and errors. Every secret used or returned is collected (with the SHA-256
 * digests the server stores of keys and refresh tokens), and neither it nor any 12-character piece of it
 * may appear in the process's stdout or stderr. `ggscale bootstrap` may print the keys it creates, once, as
 * its JSON answer on stdout (docs/api/tenancy.md), and nothing else secret.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import { freePort, run, startGgscale, waitForStatus, type RunningProcess } from '../support/process.js';
import { eventually } from '../support/eventually.js';
import { SecretBag } from './support/secrets.js';

/** An API key's visible, non-secret prefix: `ggs_sk_` and 6 characters (api-key-format.ts). */
const KEY_PREFIX_LENGTH = 13;
const secret = (label: string) => `${label}-${randomBytes(18).toString('base64url')}`;

interface Answer {
  status: number;
  text: string;
  json<T>(): T;
}

interface SignedIn {
  player: { id: string };
  access_token: string;
  refresh_token: string;
}

for (const kind of databaseKinds()) {
  describe(`no secret reaches the log (${kind.name}, LOG_LEVEL=trace)`, () => {
    const secrets = new SecretBag();
    let database: TestDatabase | undefined;
    let dataDir: string;
    let server: RunningProcess;
    let env: Record<string, string>;
    let adminToken: string;
    let bootstrapKeys: string[] = [];

    const call = async (method: string, path: string, options: { credential?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {}): Promise<Answer> => {
      const res = await fetch(server.url + path, {
        method,
        headers: {
          ...(options.credential === undefined ? {} : { authorization: `Bearer ${options.credential}` }),
          ...(options.body === undefined && options.raw === undefined ? {} : { 'content-type': 'application/json' }),
          ...options.headers,
        },
        ...(options.raw !== undefined ? { body: options.raw } : options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      });
      const text = await res.text();
      assert.ok(res.status < 500, `${method} ${path}: ${res.status} ${text}`);
      return { status: res.status, text, json: <T>() => JSON.parse(text) as T };
    };
    const expect = async (status: number, method: string, path: string, options: Parameters<typeof call>[2] = {}) => {
      const answer = await call(method, path, options);
      assert.equal(answer.status, status, `${method} ${path}: ${answer.text}`);
      return answer;
    };
    const keepSignedIn = (label: string, signedIn: SignedIn) => {
      secrets.addJwt(`${label} access token`, signedIn.access_token);
      secrets.addWithDigests(`${label} refresh token`, signedIn.refresh_token);
      return signedIn;
    };

    before(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'ggscale-log-secrets-'));
      const signingSecret = secret('signing-secret-key');
      secrets.add('GGSCALE_SECRET_KEY', signingSecret);
      env = {
        GGSCALE_DATA_DIR: dataDir,
        LOG_LEVEL: 'trace',
        GGSCALE_SECRET_KEY: signingSecret,
        // A reused refresh token revokes its family at once: that path runs (and could log) too.
        REFRESH_REUSE_GRACE_SECONDS: '0',
        FLEET_LOCAL_BUFFER: '0',
      };
      if (kind.name === 'postgres') {
        database = await kind.create();
        // The local server trusts the connection, so a password in the URL is ignored by it; it must still
        // never be printed.
        const url = new URL(database.url!);
        const dbPassword = secret('db-password');
        url.password = dbPassword;
        secrets.add('password in DATABASE_URL', dbPassword);
        adminToken = secret('operator-token-0123456789');
        Object.assign(env, { DATABASE_URL: url.toString(), GGSCALE_ADMIN_TOKEN: adminToken, GGSCALE_MIGRATE_ON_START: 'false' });
        if (process.env.REDIS_URL) {
          Object.assign(env, { CACHE_BACKEND: 'redis', REDIS_URL: process.env.REDIS_URL, LEADERBOARD_REDIS_KEY_PREFIX: `ggscale-test-logs-${randomBytes(4).toString('hex')}:` });
        }
      }
      server = startGgscale(['serve'], env, await freePort());
      await waitForStatus(`${server.url}/v1/readyz`, 200, 60_000);
      // The embedded default generates the operator token into the data folder.
      if (kind.name === 'pglite') adminToken = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
      secrets.add('operator token', adminToken);
    });

    after(async () => {
      if (server.child.exitCode === null && server.child.signalCode === null) {
        server.child.kill('SIGKILL');
        await server.exited;
      }
      await database?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('the scanner finds a 12-character piece of a secret anywhere in a text (so a pass means something)', () => {
      const bag = new SecretBag();
      const token = secret('probe');
      bag.add('probe', token);
      // '!' is not in a secret's alphabet: the piece cannot grow by a neighbour that happens to match.
      assert.equal(bag.findIn(`{"msg":"!${token.slice(7, 19)}!"}`).length, 1);
      assert.equal(bag.findIn(`{"msg":"!${token.slice(7, 18)}!"}`).length, 0, 'an 11-character piece is below the threshold');
    });

    it('runs a full session through the API: operator, keys, players, tokens, storage, leaderboards, realtime, errors', async () => {
      // Operator: a wrong token first, then the real set-up.
      const wrongOperator = secret('wrong-operator-token-0123456789');
      secrets.add('wrong operator token', wrongOperator);
      await expect(401, 'GET', '/v1/admin/tenants', { credential: wrongOperator });
      const tenant = (await expect(201, 'POST', '/v1/admin/tenants', { credential: adminToken, body: { name: 'log-secrets' } })).json<{ id: string }>();
      const project = (await expect(201, 'POST', `/v1/admin/tenants/${tenant.id}/projects`, { credential: adminToken, body: { name: 'game' } })).json<{ id: string }>();
      const key = async (kind: 'publishable' | 'secret', name: string) => {
        const created = (await expect(201, 'POST', `/v1/admin/projects/${project.id}/api-keys`, { credential: adminToken, body: { kind, name } })).json<{ id: string; key: string }>();
        secrets.addWithDigests(`${kind} key "${name}"`, created.key, KEY_PREFIX_LENGTH);
        return created;
      };
      const publishable = (await key('publishable', 'client')).key;
      const secretKey = (await key('secret', 'server')).key;
      const revoked = await key('secret', 'to-revoke');
      await expect(200, 'GET', `/v1/admin/projects/${project.id}/api-keys`, { credential: adminToken });
      await expect(204, 'DELETE', `/v1/admin/api-keys/${revoked.id}`, { credential: adminToken });
      await eventually(async () => (await call('GET', '/v1/leaderboards', { credential: revoked.key })).status === 401, 5_000, 'the revoked key is refused');

      // Players: passwords (right, wrong, malformed, over-long, taken), with cookies and stray credential headers.
      const email = `log-secrets-${randomBytes(4).toString('hex')}@players.example`;
      const password = secret('player-password');
      const cookie = secret('cookie-value');
      const strayHeaderKey = secret('x-api-key-value');
      secrets.add('password', password);
      secrets.add('cookie value', cookie);
      secrets.add('x-api-key header value', strayHeaderKey);
      const signedUp = keepSignedIn('signup', (await expect(201, 'POST', '/v1/auth/signup', {
        credential: publishable,
        body: { email, password },
        headers: { cookie: `ggscale_session=${cookie}; theme=dark`, 'x-api-key': strayHeaderKey },
      })).json<SignedIn>());
      const takenPassword = secret('taken-email-password');
      secrets.add('password of a taken email', takenPassword);
      await expect(409, 'POST', '/v1/auth/signup', { credential: publishable, body: { email, password: takenPassword } });
      const longPassword = secret('over-long-password').repeat(10);
      secrets.add('over-long password', longPassword);
      await expect(400, 'POST', '/v1/auth/signup', { credential: publishable, body: { email: `x${email}`, password: longPassword } });
      const malformedPassword = secret('malformed-json-password');
      secrets.add('password in malformed JSON', malformedPassword);
      await expect(400, 'POST', '/v1/auth/login', { credential: publishable, raw: `{"email":"${email}","password":"${malformedPassword}"` });
      const wrongPassword = secret('wrong-password');
      secrets.add('wrong password', wrongPassword);
      await expect(401, 'POST', '/v1/auth/login', { credential: publishable, body: { email, password: wrongPassword } });
      const loggedIn = keepSignedIn('login', (await expect(200, 'POST', '/v1/auth/login', { credential: publishable, body: { email, password } })).json<SignedIn>());
      const newPassword = secret('new-password');
      secrets.add('new password', newPassword);
      await expect(204, 'POST', '/v1/auth/password', { credential: loggedIn.access_token, body: { current_password: password, new_password: newPassword } });

      const deviceId = secret('device-id-credential');
      secrets.add('device id', deviceId);
      const device = keepSignedIn('device', (await expect(201, 'POST', '/v1/auth/device', { credential: publishable, body: { device_id: deviceId } })).json<SignedIn>());
      const linkPassword = secret('link-password');
      secrets.add('linked email password', linkPassword);
      await expect(200, 'POST', '/v1/auth/link/email', { credential: device.access_token, body: { email: `linked-${email}`, password: linkPassword } });

      // Refresh, then the used token again: its whole family is revoked.
      const pair = await expect(200, 'POST', '/v1/auth/refresh', { credential: publishable, body: { refresh_token: device.refresh_token } });
      keepSignedIn('refreshed', { player: device.player, ...pair.json<Omit<SignedIn, 'player'>>() });
      await expect(401, 'POST', '/v1/auth/refresh', { credential: publishable, body: { refresh_token: device.refresh_token } });

      // Storage and leaderboards, as a player and as the studio's server.
      await expect(201, 'PUT', '/v1/storage/saves/slot1', { credential: loggedIn.access_token, raw: JSON.stringify({ level: 3 }) });
      await expect(200, 'GET', '/v1/storage/saves/slot1', { credential: loggedIn.access_token });
      await expect(201, 'PUT', `/v1/storage/saves/server-note?owner=${loggedIn.player.id}`, { credential: secretKey, raw: '{}' });
      await expect(201, 'POST', '/v1/leaderboards', { credential: secretKey, body: { id: 'weekly', sort: 'desc', operator: 'best' } });
      await expect(200, 'POST', '/v1/leaderboards/weekly/scores', { credential: loggedIn.access_token, body: { score: 42 } });
      await expect(200, 'GET', '/v1/leaderboards/weekly/scores?limit=10', { credential: loggedIn.access_token });

      // Credentials that do not resolve, in every shape.
      const parts = loggedIn.access_token.split('.');
      const tampered = `${parts[0]}.${parts[1]}.${randomBytes(64).toString('base64url')}`;
      const bad = {
        'unknown secret key': `ggs_sk_${randomBytes(32).toString('base64url')}`,
        'unknown publishable key': `ggs_pk_${randomBytes(32).toString('base64url')}`,
        'garbage token': secret('garbage-bearer'),
        'malformed JWT': `eyJ${randomBytes(90).toString('base64url')}`,
      };
      for (const [what, value] of Object.entries(bad)) {
        secrets.add(what, value, what.includes('key') ? KEY_PREFIX_LENGTH : 0);
        await expect(401, 'GET', '/v1/auth/me', { credential: value });
      }
      secrets.add('tampered JWT signature', parts[2]!);
      await expect(401, 'GET', '/v1/auth/me', { credential: tampered });
      const basic = Buffer.from(`player:${secret('basic-password')}`).toString('base64');
      secrets.add('basic credentials', basic);
      await expect(401, 'GET', '/v1/auth/me', { headers: { authorization: `Basic ${basic}` } });
      // Secrets in places where they do not belong: a query string, a routeless path.
      const inQuery = secret('query-secret');
      secrets.add('secret in a query string', inQuery);
      await expect(404, 'GET', `/v1/no-such-route?token=${inQuery}`);
      const inPath = secret('path-secret');
      secrets.add('secret in a path', inPath);
      await expect(404, 'GET', `/v1/storage/saves/${inPath}`, { credential: loggedIn.access_token });

      // Realtime: the token as ?token= and as Authorization; a bad token is refused before the upgrade.
      const wsUrl = `${server.url.replace('http', 'ws')}/v1/realtime`;
      for (const viaQuery of [true, false]) {
        const ws = viaQuery
          ? new WebSocket(`${wsUrl}?token=${encodeURIComponent(loggedIn.access_token)}`)
          : new WebSocket(wsUrl, { headers: { authorization: `Bearer ${loggedIn.access_token}` } });
        await new Promise((resolve, reject) => {
          ws.once('open', resolve);
          ws.once('error', reject);
        });
        // The first frame is the welcome; the ping's answer comes after it.
        const pong = new Promise<string>((resolve) =>
          ws.on('message', (data: Buffer) => {
            const text = data.toString('utf8');
            if (text.includes('"pong"')) resolve(text);
          }),
        );
        ws.send(JSON.stringify({ op: 'ping', id: 'p1' }));
        assert.match(await pong, /"pong"/);
        ws.close(1000);
        await new Promise((resolve) => ws.once('close', resolve));
      }
      const badWsToken = `eyJ${randomBytes(60).toString('base64url')}`;
      secrets.add('bad realtime token', badWsToken);
      const refusal = await new Promise<number>((resolve) => {
        const ws = new WebSocket(`${wsUrl}?token=${badWsToken}`);
        ws.once('unexpected-response', (_request, response) => {
          resolve(response.statusCode ?? 0);
          ws.terminate();
        });
        ws.once('error', () => resolve(-1));
      });
      assert.equal(refusal, 401);

      // Operator actions on a player, then the end of sessions.
      await expect(204, 'POST', `/v1/admin/projects/${project.id}/players/${device.player.id}/ban`, { credential: adminToken });
      await expect(204, 'DELETE', `/v1/admin/projects/${project.id}/players/${device.player.id}/ban`, { credential: adminToken });
      await expect(204, 'POST', '/v1/auth/logout', { credential: loggedIn.access_token });
      await eventually(async () => (await call('GET', '/v1/auth/me', { credential: loggedIn.access_token })).status === 401, 5_000, 'the logged-out token is refused');
      // The password change ended the signup session; the new password signs in, and ends every session.
      await eventually(async () => (await call('GET', '/v1/auth/me', { credential: signedUp.access_token })).status === 401, 5_000, 'the other session ended');
      const again = keepSignedIn('login with the new password', (await expect(200, 'POST', '/v1/auth/login', { credential: publishable, body: { email, password: newPassword } })).json<SignedIn>());
      await expect(204, 'POST', '/v1/auth/sessions/revoke-all', { credential: again.access_token });
    });

    it('ggscale bootstrap prints the keys it creates once, as its JSON answer on stdout, and no other secret', async () => {
      const result = await run(['bootstrap', '--tenant', 'log-secrets-bootstrap', '--project', 'game'], { ...env, LOG_LEVEL: 'trace' });
      assert.equal(result.code, 0, result.stderr);
      const lines = result.stdout.split('\n').filter(Boolean);
      assert.equal(lines.length, 1, `bootstrap prints one line: ${result.stdout}`);
      const printed = JSON.parse(lines[0]!) as Record<string, string>;
      assert.deepEqual(Object.keys(printed).sort(), ['project_id', 'publishable_key', 'secret_key', 'tenant_id']);
      bootstrapKeys = [printed.publishable_key!, printed.secret_key!];
      // Apart from its own answer, nothing secret (the operator token, the database password, ...).
      const leaks = secrets.findIn(`${result.stdout.replace(lines[0]!, '')}\n${result.stderr}`);
      assert.deepEqual(leaks, [], `bootstrap printed secrets besides its answer: ${JSON.stringify(leaks, null, 1)}`);
      const bag = new SecretBag();
      for (const key of bootstrapKeys) bag.add('bootstrap key', key, KEY_PREFIX_LENGTH);
      assert.deepEqual(bag.findIn(result.stderr), [], 'bootstrap keys on stderr');
      for (const key of bootstrapKeys) secrets.addWithDigests('key printed by bootstrap', key, KEY_PREFIX_LENGTH);
    });

    it('after a graceful stop, stdout is JSON lines with none of the secrets, or any 12-character piece of one', async () => {
      server.child.kill('SIGTERM');
      assert.equal(await server.exited, 0);
      assert.ok(secrets.size >= 30, `collected ${secrets.size} secrets`);
      const stdout = server.stdout.join('\n');
      // The run was logged (not a vacuous pass): request lines and debug-level lines are there.
      assert.ok(server.stdout.filter((line) => line.includes('"msg":"request"')).length >= 40, 'request lines logged');
      assert.ok(server.stdout.some((line) => line.includes('"level":"debug"') || line.includes('"level":"trace"')), 'debug lines logged');
      for (const line of server.stdout) assert.doesNotThrow(() => JSON.parse(line), `not JSON: ${line}`);
      const leaks = secrets.findIn(`${stdout}\n${server.stderr.join('\n')}`);
      assert.deepEqual(leaks, [], `secrets in the log:\n${leaks.map((leak) => `${leak.secret}: …${leak.context}…`).join('\n')}`);
    });
  });
}

describe('no secret reaches the log when the database and Redis cannot be reached', () => {
  it('logs the failures with their address, never the passwords in DATABASE_URL and REDIS_URL', async () => {
    const secrets = new SecretBag();
    const dbPassword = secret('unreachable-db-password');
    const redisPassword = secret('unreachable-redis-password');
    const adminToken = secret('operator-token-0123456789');
    for (const [name, value] of Object.entries({ dbPassword, redisPassword, adminToken })) secrets.add(name, value);
    const nobody = await freePort();
    const server = startGgscale(
      ['serve'],
      {
        DATABASE_URL: `postgres://ggscale:${dbPassword}@127.0.0.1:${nobody}/ggscale`,
        CACHE_BACKEND: 'redis',
        REDIS_URL: `redis://:${redisPassword}@127.0.0.1:${nobody}`,
        GGSCALE_ADMIN_TOKEN: adminToken,
        LOG_LEVEL: 'trace',
        FLEET_LOCAL_BUFFER: '0',
      },
      await freePort(),
    );
    try {
      await waitForStatus(`${server.url}/v1/healthz`, 200, 30_000);
      await eventually(async () => server.stdout.some((line) => line.includes('database failed to open')), 30_000, 'the database failure is logged');
      await eventually(async () => server.stdout.some((line) => line.includes('redis')), 30_000, 'the Redis failure is logged');
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
    const leaks = secrets.findIn(`${server.stdout.join('\n')}\n${server.stderr.join('\n')}`);
    assert.deepEqual(leaks, [], `secrets in the log:\n${leaks.map((leak) => `${leak.secret}: …${leak.context}…`).join('\n')}`);
  });
});
