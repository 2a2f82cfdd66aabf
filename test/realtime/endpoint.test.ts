/**
 * GET /v1/realtime over a real socket: auth before the upgrade, the JSON envelope, error frames, the frame
 * size limit, the per-connection message budget, the server heartbeat, sockets closed on logout / ban /
 * a re-check, token-free logs, metrics and the 1012 close on shutdown.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryCache } from '../../src/internal/cache/memory.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import { bearer, createPlayer, createProject, createTenant, operator, OPERATOR_TOKEN, type TestPlayer, type TestProject } from '../support/tenancy.js';
import { Client, attempt, connect, realtimeUrl, refused, slugOf } from './helpers.js';

const ENV = {
  LOG_LEVEL: 'trace',
  WS_HEARTBEAT_MS: '200',
  WS_MAX_MESSAGE_BYTES: '1024',
  WS_MESSAGES_PER_SECOND: '5',
  WS_MESSAGE_BURST: '10',
  WS_MESSAGE_REFUSALS_BEFORE_CLOSE: '5',
  WS_MAX_CONNECTIONS_PER_PLAYER: '50',
  REFRESH_REUSE_GRACE_SECONDS: '0',
};

function sessionIdOf(accessToken: string): string {
  return (JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString()) as { sid: string }).sid;
}

async function listen(t: TestApp): Promise<string> {
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  const address = t.app.server.address();
  assert.ok(address && typeof address === 'object');
  return `http://127.0.0.1:${address.port}`;
}

for (const kind of databaseKinds()) {
  describe(`realtime endpoint (${kind.name})`, () => {
    let database: TestDatabase;
    let cache: MemoryCache;
    let t: TestApp;
    let base: string;
    let project: TestProject;
    let player: TestPlayer;
    const clients: Client[] = [];
    const open = async (token: string, how: 'query' | 'header' = 'query') => {
      const client = how === 'query' ? await connect(realtimeUrl(base, token)) : await connect(realtimeUrl(base), { headers: bearer(token) });
      clients.push(client);
      return client;
    };

    before(async () => {
      database = await kind.create();
      cache = new MemoryCache();
      t = await buildTestApp({ db: database.db, cache, env: ENV });
      base = await listen(t);
      project = await createProject(t.app, await createTenant(t.app));
      player = await createPlayer(t.app, project);
    });
    after(async () => {
      for (const client of clients) client.ws.terminate();
      await t.close();
      await cache.close();
      await database.drop();
    });

    it('refuses before the upgrade with problem JSON: no token 401, a bad token 401, keys and the operator 403', async () => {
      const cases: [string, Record<string, string> | undefined, string | undefined, number, string][] = [
        ['no credential', undefined, undefined, 401, 'unauthorized'],
        ['a bad ?token=', undefined, 'eyJnot.a.token', 401, 'unauthorized'],
        ['a bad bearer', bearer('eyJnot.a.token'), undefined, 401, 'unauthorized'],
        ['garbage', bearer('x'.repeat(40)), undefined, 401, 'unauthorized'],
        ['a secret key', bearer(project.secretKey), undefined, 403, 'forbidden'],
        ['a secret key as ?token=', undefined, project.secretKey, 403, 'forbidden'],
        ['a publishable key', bearer(project.publishableKey), undefined, 403, 'forbidden'],
        ['the operator token', bearer(OPERATOR_TOKEN), undefined, 403, 'forbidden'],
      ];
      for (const [what, headers, token, status, slug] of cases) {
        const refusal = await refused(realtimeUrl(base, token), headers ? { headers } : {});
        assert.equal(refusal.status, status, what);
        assert.match(String(refusal.headers['content-type']), /^application\/problem\+json/, what);
        assert.equal(slugOf(refusal), slug, what);
      }
    });

    it('a plain GET without an upgrade is a 400 problem, not a 5xx', async () => {
      const res = await t.app.inject({ method: 'GET', url: '/v1/realtime', headers: bearer(player.accessToken) });
      assert.equal(res.statusCode, 400);
      assert.equal(res.json<{ type: string }>().type, 'https://ggscale.dev/problems/validation');
      const unknownQuery = await refused(`${realtimeUrl(base, player.accessToken)}&extra=1`);
      assert.equal(unknownQuery.status, 400);
    });

    it('opens with ?token= and with Authorization; ping is answered pong, echoing the id when given', async () => {
      for (const how of ['query', 'header'] as const) {
        const client = await open(player.accessToken, how);
        assert.deepEqual(await client.request({ op: 'ping', id: 'r1' }), { op: 'pong', id: 'r1' });
        assert.deepEqual(await client.request({ op: 'ping' }), { op: 'pong' });
        await client.close();
      }
    });

    it('answers unknown ops, bad JSON, non-objects, bad ids and binary frames with error frames, and stays open', async () => {
      const client = await open(player.accessToken);
      assert.deepEqual(await client.request({ op: 'teleport', id: 'a' }), {
        op: 'error',
        code: 'unknown-op',
        status: 400,
        message: 'Unknown op "teleport".',
        id: 'a',
      });
      const proto = await client.request({ op: '__proto__', id: 'p' });
      assert.equal(proto.code, 'unknown-op');
      const badJson = await client.request('{"op": "ping"');
      assert.equal(badJson.op, 'error');
      assert.equal(badJson.code, 'bad-request');
      assert.equal((await client.request('[1,2]')).code, 'bad-request');
      assert.equal((await client.request('null')).code, 'bad-request');
      assert.deepEqual(Object.keys(await client.request({ op: 'ping', id: 42 })).sort(), ['code', 'message', 'op', 'status']);
      const noOp = await client.request({ id: 'no-op' });
      assert.equal(noOp.code, 'bad-request');
      assert.equal(noOp.id, 'no-op');
      const binary = await client.request(Buffer.from([1, 2, 3]));
      assert.equal(binary.code, 'bad-request');
      assert.match(String(binary.message), /binary/i);
      assert.deepEqual(await client.request({ op: 'ping', id: 'still-here' }), { op: 'pong', id: 'still-here' });
      assert.equal(client.isClosed, false);
      await client.close();
    });

    it('closes with 1009 on a frame larger than WS_MAX_MESSAGE_BYTES', async () => {
      const client = await open(player.accessToken);
      assert.deepEqual(await client.request({ op: 'ping', pad: 'x'.repeat(900) }), { op: 'pong' });
      client.send({ op: 'ping', pad: 'x'.repeat(1100) });
      assert.equal((await client.closedWithin(2_000)).code, 1009);
    });

    it('refuses messages over the per-connection budget with rate-limited frames, then closes a flooder with 1008', async () => {
      const client = await open(player.accessToken);
      for (let i = 0; i < 10; i++) client.send({ op: 'ping', id: `b${i}` });
      for (let i = 0; i < 10; i++) assert.deepEqual(await client.next(), { op: 'pong', id: `b${i}` });
      client.send({ op: 'ping', id: 'over' });
      const limited = await client.next();
      assert.equal(limited.code, 'rate-limited');
      assert.equal(limited.id, 'over');
      assert.ok(typeof limited.retry_after_ms === 'number' && limited.retry_after_ms > 0);
      assert.equal(client.isClosed, false, 'one refusal is not a disconnect');
      for (let i = 0; i < 20; i++) client.send({ op: 'ping' });
      assert.equal((await client.closedWithin(2_000)).code, 1008);
    });

    it('pings clients: a live one stays through several heartbeats, a peer that never answers is terminated', async () => {
      const live = await open(player.accessToken);
      let pings = 0;
      live.ws.on('ping', () => pings++);
      const dead = await connect(realtimeUrl(base, player.accessToken), { autoPong: false });
      clients.push(dead);
      const { ms } = await dead.closedWithin(3_000);
      assert.ok(ms < 3_000);
      await eventually(async () => pings >= 4, 3_000, 'several server pings');
      assert.equal(live.isClosed, false, 'a client answering pings is kept');
      await live.close();
    });

    it('closes the sockets of a logged-out session within 1 s (4001); other sessions stay open', async () => {
      const second = await createPlayer(t.app, project, `second-session-device-${Date.now()}`);
      const other = await createPlayer(t.app, project);
      const mine = await open(second.accessToken);
      const mineToo = await open(second.accessToken, 'header');
      const theirs = await open(other.accessToken);
      const res = await t.app.inject({ method: 'POST', url: '/v1/auth/logout', headers: bearer(second.accessToken) });
      assert.equal(res.statusCode, 204);
      for (const client of [mine, mineToo]) {
        const closed = await client.closedWithin(1_000);
        assert.equal(closed.code, 4001);
      }
      assert.deepEqual(await theirs.request({ op: 'ping', id: 'x' }), { op: 'pong', id: 'x' });
      assert.equal((await refused(realtimeUrl(base, second.accessToken))).status, 401, 'the ended session cannot reconnect');
      await theirs.close();
    });

    it('closes the sockets of a session revoked by refresh-token reuse within 1 s (4001)', async () => {
      const victim = await createPlayer(t.app, project);
      const socket = await open(victim.accessToken);
      const refresh = (token: string) =>
        t.app.inject({ method: 'POST', url: '/v1/auth/refresh', headers: bearer(project.publishableKey), payload: { refresh_token: token } });
      assert.equal((await refresh(victim.refreshToken)).statusCode, 200);
      assert.equal((await refresh(victim.refreshToken)).statusCode, 401, 'a reused refresh token ends the session');
      assert.equal((await socket.closedWithin(1_000)).code, 4001);
    });

    it('closes every socket of a banned player within 1 s (4001), and the player cannot reconnect', async () => {
      const banned = await createPlayer(t.app, project);
      const bystander = await createPlayer(t.app, project);
      const sockets = [await open(banned.accessToken), await open(banned.accessToken, 'header')];
      const other = await open(bystander.accessToken);
      const res = await operator(t.app, 'POST', `/v1/admin/projects/${project.projectId}/players/${banned.playerId}/ban`);
      assert.equal(res.statusCode, 204);
      for (const client of sockets) assert.equal((await client.closedWithin(1_000)).code, 4001);
      assert.deepEqual(await other.request({ op: 'ping' }), { op: 'pong' });
      assert.equal((await refused(realtimeUrl(base, banned.accessToken))).status, 401);
      await other.close();
    });

    it('on a password change closes the sockets of the player\'s other sessions only', async () => {
      const email = `rt-${Date.now()}@example.com`;
      const signup = await t.app.inject({ method: 'POST', url: '/v1/auth/signup', headers: bearer(project.publishableKey), payload: { email, password: 'first-password' } });
      assert.equal(signup.statusCode, 201, signup.body);
      const login = await t.app.inject({ method: 'POST', url: '/v1/auth/login', headers: bearer(project.publishableKey), payload: { email, password: 'first-password' } });
      assert.equal(login.statusCode, 200, login.body);
      const current = signup.json<{ access_token: string }>().access_token;
      const other = login.json<{ access_token: string }>().access_token;
      const kept = await open(current);
      const ended = await open(other);
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/auth/password',
        headers: bearer(current),
        payload: { current_password: 'first-password', new_password: 'second-password' },
      });
      assert.equal(res.statusCode, 204, res.body);
      assert.equal((await ended.closedWithin(1_000)).code, 4001);
      assert.deepEqual(await kept.request({ op: 'ping', id: 'same-session' }), { op: 'pong', id: 'same-session' });
      await kept.close();
    });

    it('re-checks every socket when a revocation may have been missed ({type:"all"}): only revoked ones close', async () => {
      const quiet = await createPlayer(t.app, project);
      const keeper = await createPlayer(t.app, project);
      const revokedSocket = await open(quiet.accessToken);
      const keptSocket = await open(keeper.accessToken);
      // Revoke behind the server's back (no invalidation event), as if the event had been lost.
      await database.db.withTenant(project, (tx) =>
        tx.query('update sessions set revoked_at = now() where id = $1', [sessionIdOf(quiet.accessToken)]),
      );
      await cache.publish('auth-invalidate', JSON.stringify({ type: 'all' }));
      assert.equal((await revokedSocket.closedWithin(2_000)).code, 4001);
      assert.deepEqual(await keptSocket.request({ op: 'ping' }), { op: 'pong' });
      await keptSocket.close();
    });

    it('counts open sockets in ggscale_ws_connections, without tenant labels', async () => {
      const metric = async () => {
        const text = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
        const line = text.split('\n').find((l) => l.startsWith('ggscale_ws_connections '));
        assert.ok(line, 'ggscale_ws_connections is exposed');
        assert.ok(!/ggscale_ws_\w+\{[^}]*(tenant|project|player)\w*=/.test(text), 'no tenant, project or player label');
        assert.match(text, /ggscale_ws_rejected_total\{reason="player-cap"\} \d+/);
        assert.match(text, /ggscale_ws_rejected_total\{reason="unauthorized"\} [1-9]/, 'auth refusals before the upgrade are counted');
        assert.match(text, /ggscale_ws_rejected_total\{reason="forbidden"\} [1-9]/);
        return Number(line.split(' ')[1]);
      };
      await eventually(async () => (await metric()) === 0, 2_000, 'earlier sockets to be gone');
      const a = await open(player.accessToken);
      const b = await open(player.accessToken);
      assert.equal(await metric(), 2);
      await a.close();
      await eventually(async () => (await metric()) === 1, 2_000, 'the gauge to follow a close');
      await b.close();
    });

    it('documents the endpoint in OpenAPI', async () => {
      const doc = (await t.app.inject({ method: 'GET', url: '/v1/openapi.json' })).json<{ paths: Record<string, { get?: { operationId?: string } }> }>();
      assert.equal(doc.paths['/v1/realtime']?.get?.operationId, 'connectRealtime');
    });

    it('never writes a token to the logs, whether it was accepted or refused', async () => {
      const client = await open(player.accessToken);
      await client.request({ op: 'ping' });
      await client.close();
      const bad = 'eyJsecret-looking-but-invalid-token-value';
      await refused(realtimeUrl(base, bad));
      const logs = t.logs.lines.join('\n');
      assert.ok(t.logs.lines.length > 0);
      assert.ok(!logs.includes(player.accessToken), 'the access token is not logged');
      assert.ok(!logs.includes(bad), 'a refused ?token= is not logged');
      assert.ok(!logs.includes('token='), 'no raw URL with its query is logged');
    });
  });

  describe(`realtime shutdown (${kind.name})`, () => {
    let database: TestDatabase;
    before(async () => {
      database = await kind.create();
    });
    after(async () => {
      await database.drop();
    });

    it('sends 1012 (restarting: reconnect elsewhere) to every client on app.close(), and refuses nothing with a 5xx on the way', async () => {
      const t = await buildTestApp({ db: database.db, env: ENV });
      const base = await listen(t);
      const project = await createProject(t.app, await createTenant(t.app));
      const players = [await createPlayer(t.app, project), await createPlayer(t.app, project)];
      const sockets = await Promise.all(players.map((p) => connect(realtimeUrl(base, p.accessToken))));
      const closing = t.close();
      for (const socket of sockets) assert.equal((await socket.closedWithin(2_000)).code, 1012);
      await closing;
      const after = await attempt(realtimeUrl(base, players[0]!.accessToken)).catch((error: unknown) => error);
      assert.ok(after instanceof Error, 'the node no longer accepts connections');
    });
  });
}
