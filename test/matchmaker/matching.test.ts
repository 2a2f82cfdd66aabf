/**
 * Matchmaking end to end on the local fleet (docs/api/matchmaker.md): two tickets within the skill window become
 * a match; its game server is allocated through the fleet service, labelled with the match and pool; each
 * player gets `matchmaker.matched` with the address, ports and a match token that verifies against the JWKS
 * with audience `match:<id>` and that ggscale refuses as a credential; the server answers the players' UDP
 * `hello`; the tickets read matched (with the match and a fresh token), the match reads back, and each player
 * has a `ggscale.match_found` notification. Tickets out of each other's window stay searching.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createLocalJWKSet, jwtVerify } from 'jose';
import type { FastifyInstance } from 'fastify';
import { buildTestApp, type TestApp } from '../support/app.js';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import { bearer, createPlayer, createProject, createTenant, type TestProject } from '../support/tenancy.js';
import { listen, type Client } from '../realtime/helpers.js';
import { caller, frameOf, sockets, type Json } from './helpers.js';
import { metricValue, udpAsk } from '../fleet/helpers.js';

const POOL = { id: 'duel', fleet: 'default', min_players: 2, max_players: 2, skill: { window_start: 100, growth_per_second: 0 }, max_wait_seconds: 60 };

for (const [index, kind] of databaseKinds().entries()) {
  describe(`matchmaking on the local fleet (${kind.name})`, () => {
    let database: TestDatabase;
    let t: TestApp;
    let app: FastifyInstance;
    let base: string;
    let project: TestProject;
    const clients: Client[] = [];
    const range = { first: 23000 + index * 200, last: 23199 + index * 200 };

    const call = caller(() => app);
    const socket = sockets(() => base, clients);
    const matched = (client: Client) => frameOf(client, 'matchmaker.matched', undefined, 15_000);

    before(async () => {
      database = await kind.create();
      t = await buildTestApp({
        db: database.db,
        // Nothing cached (CREDENTIAL_CACHE_MS=0): a match is stored with its project's settings read cold, the
        // case that once made the embedded database wait for itself.
        env: {
          MATCHMAKER_INTERVAL_MS: '100',
          FLEET_LOCAL_BUFFER: '1',
          FLEET_LOCAL_PORT_RANGE: `${range.first}-${range.last}`,
          FLEET_SWEEP_INTERVAL_MS: '200',
          CREDENTIAL_CACHE_MS: '0',
        },
      });
      app = t.app;
      base = await listen(t);
      project = await createProject(app, await createTenant(app));
      const pool = await call('POST', '/v1/matchmaker/pools', project.secretKey, POOL);
      assert.equal(pool.statusCode, 201, pool.body);
      await eventually(async () => (await metricValue(app, 'ggscale_fleet_ready_game_servers')) >= 1, 20_000, 'a Ready game server');
    });
    after(async () => {
      await Promise.all(clients.map((client) => client.close()));
      await t?.close();
      await database?.drop();
    });

    it('two tickets in each other\'s window: matched, allocated, told with a match token, and the server answers', async () => {
      const [a, b] = await Promise.all([createPlayer(app, project), createPlayer(app, project)]);
      const [ca, cb] = await Promise.all([socket(a), socket(b)]);
      const ta = (await call('POST', '/v1/matchmaker/tickets', a.accessToken, { pool: 'duel', skill: 1000, regions: ['eu'] })).json<Json>();
      const tb = (await call('POST', '/v1/matchmaker/tickets', b.accessToken, { pool: 'duel', skill: 1050, regions: ['eu'] })).json<Json>();

      const [ma, mb] = await Promise.all([matched(ca), matched(cb)]);
      assert.equal(ma.ticket_id, ta.id);
      assert.equal(mb.ticket_id, tb.id);
      const match = ma.match as Json;
      assert.deepEqual(mb.match, match, 'both players are told the same match');
      assert.equal(match.pool, 'duel');
      assert.equal(match.region, 'eu');
      assert.equal(match.address, '127.0.0.1');
      const teams = match.teams as { index: number; players: { player_id: string; ticket_id: string }[] }[];
      assert.equal(teams.length, 1);
      assert.deepEqual(new Set(teams[0]!.players.map((p) => p.player_id)), new Set([a.playerId, b.playerId]));

      // The token: EdDSA from the JWKS, audience match:<id>, the player and its team; never a credential.
      const jwks = createLocalJWKSet((await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json<Parameters<typeof createLocalJWKSet>[0]>());
      const { payload } = await jwtVerify(ma.token as string, jwks, { audience: `match:${match.id as string}` });
      assert.equal(payload.sub, a.playerId);
      assert.equal(payload.mid, match.id);
      assert.equal(payload.team, 0);
      assert.equal(payload.alc, match.allocation_id);
      assert.equal(typeof payload.jti, 'string');
      assert.equal(payload.exp! - payload.iat!, 120);
      assert.equal((await call('GET', '/v1/matchmaker/pools', ma.token as string)).statusCode, 401);
      assert.equal((await call('GET', '/v1/matchmaker/tickets', ma.token as string)).statusCode, 401);

      const udp = (match.ports as { port: number; protocol: string }[]).find((port) => port.protocol === 'UDP')!;
      assert.equal(await udpAsk('127.0.0.1', udp.port, 'hello'), 'ACK: hello\n');

      // The server's allocation carries the match and the pool.
      const allocation = (await call('GET', `/v1/fleet/allocations/${match.allocation_id as string}`, project.secretKey)).json<Json>();
      assert.equal(allocation.state, 'Allocated');

      const read = (await call('GET', `/v1/matchmaker/tickets/${ta.id as string}`, a.accessToken)).json<Json>();
      assert.deepEqual([read.state, read.match_id], ['matched', match.id]);
      assert.deepEqual(read.match, match);
      assert.equal(typeof read.token, 'string');
      const bySecret = (await call('GET', `/v1/matchmaker/tickets/${ta.id as string}`, project.secretKey)).json<Json>();
      assert.equal(bySecret.token, undefined, 'a secret key gets no token');
      assert.deepEqual((await call('GET', `/v1/matchmaker/matches/${match.id as string}`, b.accessToken)).json(), match);
      assert.deepEqual((await call('GET', `/v1/matchmaker/matches/${match.id as string}`, project.secretKey)).json(), match);
      const outsider = await createPlayer(app, project);
      assert.equal((await call('GET', `/v1/matchmaker/matches/${match.id as string}`, outsider.accessToken)).statusCode, 404);

      const notifications = (await call('GET', '/v1/notifications', a.accessToken)).json<{ items: Json[] }>().items;
      const found = notifications.find((n) => n.code === 'ggscale.match_found');
      assert.ok(found, JSON.stringify(notifications));
      assert.equal((found.content as Json).match_id, match.id);

      // Matched is final: a cancel is 409, and the players may search again.
      assert.equal((await app.inject({ method: 'DELETE', url: `/v1/matchmaker/tickets/${ta.id as string}`, headers: bearer(a.accessToken) })).statusCode, 409);
      assert.equal((await call('POST', '/v1/matchmaker/tickets', a.accessToken, { pool: 'duel', skill: 1000, regions: ['us'] })).statusCode, 201);
    });

    it('once the match\'s server is released, the match has ended_at and a matched ticket gets no more tokens', async () => {
      const [a, b] = await Promise.all([createPlayer(app, project), createPlayer(app, project)]);
      const ta = (await call('POST', '/v1/matchmaker/tickets', a.accessToken, { pool: 'duel', skill: 7000, regions: ['eu'] })).json<Json>();
      await call('POST', '/v1/matchmaker/tickets', b.accessToken, { pool: 'duel', skill: 7000, regions: ['eu'] });
      await eventually(async () => (await call('GET', `/v1/matchmaker/tickets/${ta.id as string}`, a.accessToken)).json<Json>().state === 'matched', 20_000, 'matched');
      const live = (await call('GET', `/v1/matchmaker/tickets/${ta.id as string}`, a.accessToken)).json<Json>();
      assert.equal(typeof live.token, 'string');
      const match = live.match as Json;
      assert.equal(match.ended_at, null);
      const released = await app.inject({ method: 'DELETE', url: `/v1/fleet/allocations/${match.allocation_id as string}`, headers: bearer(project.secretKey) });
      assert.equal(released.statusCode, 204, released.body);
      const after = (await call('GET', `/v1/matchmaker/tickets/${ta.id as string}`, a.accessToken)).json<Json>();
      assert.equal(after.token, undefined);
      assert.equal(typeof (after.match as Json).ended_at, 'string');
      assert.equal(typeof (await call('GET', `/v1/matchmaker/matches/${match.id as string}`, project.secretKey)).json<Json>().ended_at, 'string');
    });

    it('tickets out of each other\'s window stay searching while passes run', async () => {
      const [a, b] = await Promise.all([createPlayer(app, project), createPlayer(app, project)]);
      const ta = (await call('POST', '/v1/matchmaker/tickets', a.accessToken, { pool: 'duel', skill: 5000, regions: ['asia'] })).json<Json>();
      (await call('POST', '/v1/matchmaker/tickets', b.accessToken, { pool: 'duel', skill: 9000, regions: ['asia'] })).json<Json>();
      // Passes run every 100 ms: wait until the matcher has looked at this pool several times since.
      const passes = async () => metricValue(app, 'ggscale_matchmaker_passes_total');
      const start = await passes();
      await eventually(async () => (await passes()) >= start + 5, 10_000, 'five more matcher passes');
      assert.equal((await call('GET', `/v1/matchmaker/tickets/${ta.id as string}`, a.accessToken)).json<Json>().state, 'searching');
    });
  });
}
