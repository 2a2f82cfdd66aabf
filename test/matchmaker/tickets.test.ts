/**
 * Matchmaker tickets (docs/api/matchmaker.md): created by a player (REST or `matchmaker.add`) or by a secret key
 * for up to 16 players, with skill from the ticket or from a leaderboard; one active ticket per player; party
 * tickets carry every member; read, listed newest first, cancelled (REST or `matchmaker.remove`); expired at
 * max wait; ended when their pool goes; every change of state reaches each player on the ticket as a
 * `matchmaker.ticket` event. Bad input is a 4xx (or an error frame) and changes nothing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { buildTestApp, type TestApp } from '../support/app.js';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import { createPlayer, createProject, createTenant, type TestPlayer, type TestProject } from '../support/tenancy.js';
import { listen, type Client } from '../realtime/helpers.js';
import { caller, frameOf, sockets, type Json } from './helpers.js';

// Tickets here are not meant to match (the matcher runs): a window of 0 and distinct skills among the tickets
// left searching keep every group from forming (matching has its own suites).
const NO_WINDOW = { window_start: 0, growth_per_second: 0 };
const POOL = { id: 'duel', fleet: 'default', min_players: 2, max_players: 2, skill: NO_WINDOW, max_wait_seconds: 60, regions: ['eu', 'us'] };
const TEAMS = { id: 'teams', fleet: 'default', min_players: 4, max_players: 4, team_count: 2, team_size: 2, skill: NO_WINDOW, max_wait_seconds: 60 };
const RANKED = { id: 'ranked', fleet: 'default', min_players: 2, max_players: 8, skill: { window_start: 100, growth_per_second: 10, source: 'leaderboard:elo', default: 1000 }, max_wait_seconds: 60 };

for (const kind of databaseKinds()) {
  describe(`matchmaker tickets (${kind.name})`, () => {
    let database: TestDatabase;
    let t: TestApp;
    let app: FastifyInstance;
    let base: string;
    let project: TestProject;
    const clients: Client[] = [];

    const call = caller(() => app);
    const secret = (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown) => call(method, url, project.secretKey, payload);
    const create = (player: TestPlayer, body: Json) => call('POST', '/v1/matchmaker/tickets', player.accessToken, body);
    const status = (res: { statusCode: number; body: string }, code: number, slug?: string) => {
      assert.equal(res.statusCode, code, res.body);
      if (slug) assert.equal((JSON.parse(res.body) as { type: string }).type.split('/').at(-1), slug, res.body);
    };
    const active = async (player: TestPlayer) =>
      (await call('GET', '/v1/matchmaker/tickets?state=searching', player.accessToken)).json<{ items: Json[] }>().items;
    const socket = sockets(() => base, clients);

    before(async () => {
      database = await kind.create();
      t = await buildTestApp({ db: database.db, env: { MATCHMAKER_INTERVAL_MS: '100' } });
      app = t.app;
      base = await listen(t);
      project = await createProject(app, await createTenant(app));
      for (const pool of [POOL, TEAMS]) status(await secret('POST', '/v1/matchmaker/pools', pool), 201);
      status(await secret('POST', '/v1/leaderboards', { id: 'elo', sort: 'desc', operator: 'set' }), 201);
      status(await secret('POST', '/v1/matchmaker/pools', RANKED), 201);
    });
    after(async () => {
      await Promise.all(clients.map((client) => client.close()));
      await t?.close();
      await database?.drop();
    });

    it('a player creates a searching ticket (201) that expires max_wait_seconds later, and reads it back', async () => {
      const player = await createPlayer(app, project);
      const res = await create(player, { pool: 'duel', skill: 1500.5, regions: ['us', 'eu'], properties: { mode: 'ctf', level: 3 } });
      status(res, 201);
      const ticket = res.json<Json>();
      assert.equal(ticket.state, 'searching');
      assert.equal(ticket.pool, 'duel');
      assert.deepEqual(ticket.players, [player.playerId]);
      assert.equal(ticket.skill, 1500.5);
      assert.deepEqual(ticket.regions, ['us', 'eu']);
      assert.deepEqual(ticket.properties, { mode: 'ctf', level: 3 });
      assert.equal(ticket.party_id, null);
      assert.equal(ticket.ended_reason, null);
      assert.equal(ticket.match_id, null);
      assert.equal(Date.parse(ticket.expires_at as string) - Date.parse(ticket.created_at as string), 60_000);
      assert.deepEqual((await call('GET', `/v1/matchmaker/tickets/${ticket.id as string}`, player.accessToken)).json(), ticket);
      assert.deepEqual((await secret('GET', `/v1/matchmaker/tickets/${ticket.id as string}`)).json(), ticket);
    });

    it('one active ticket per player: a second is 409 with the first ticket_id; cancelling frees the player', async () => {
      const player = await createPlayer(app, project);
      const first = (await create(player, { pool: 'duel', skill: 1, regions: ['eu'] })).json<Json>();
      const second = await create(player, { pool: 'teams', skill: 1, regions: ['eu'] });
      status(second, 409, 'conflict');
      assert.equal(second.json<Json>().ticket_id, first.id);
      const together = await secret('POST', '/v1/matchmaker/tickets', { pool: 'teams', player_ids: [(await createPlayer(app, project)).playerId, player.playerId], skill: 1, regions: ['eu'] });
      status(together, 409, 'conflict');
      assert.equal((await active(player)).length, 1);

      const cancelled = await call('DELETE', `/v1/matchmaker/tickets/${first.id as string}`, player.accessToken);
      status(cancelled, 200);
      assert.equal(cancelled.json<Json>().state, 'cancelled');
      assert.equal(cancelled.json<Json>().ended_reason, 'cancelled');
      const again = await call('DELETE', `/v1/matchmaker/tickets/${first.id as string}`, player.accessToken);
      status(again, 200);
      assert.deepEqual(again.json(), cancelled.json(), 'an ended ticket is answered unchanged');
      status(await create(player, { pool: 'teams', skill: 1, regions: ['eu'] }), 201);
    });

    it('a secret key creates a ticket for several players; each reads it, others do not', async () => {
      const [a, b, outsider] = await Promise.all([createPlayer(app, project), createPlayer(app, project), createPlayer(app, project)]);
      const res = await secret('POST', '/v1/matchmaker/tickets', { pool: 'teams', player_ids: [a.playerId, b.playerId], skill: 10, regions: ['eu'] });
      status(res, 201);
      const ticket = res.json<Json>();
      assert.deepEqual(ticket.players, [a.playerId, b.playerId]);
      for (const player of [a, b]) status(await call('GET', `/v1/matchmaker/tickets/${ticket.id as string}`, player.accessToken), 200);
      status(await call('GET', `/v1/matchmaker/tickets/${ticket.id as string}`, outsider.accessToken), 404);
      status(await call('DELETE', `/v1/matchmaker/tickets/${ticket.id as string}`, outsider.accessToken), 404);
      const other = await createProject(app, await createTenant(app));
      status(await call('GET', `/v1/matchmaker/tickets/${ticket.id as string}`, other.secretKey), 404);
      status(await call('DELETE', `/v1/matchmaker/tickets/${ticket.id as string}`, other.secretKey), 404);
      assert.equal((await active(a)).length, 1, 'still searching');
      status(await call('DELETE', `/v1/matchmaker/tickets/${ticket.id as string}`, b.accessToken), 200);
    });

    it('skill from a leaderboard: each player\'s current score, or the default; a player may not send its own', async () => {
      const [a, b] = await Promise.all([createPlayer(app, project), createPlayer(app, project)]);
      status(await secret('POST', '/v1/leaderboards/elo/scores', { player_id: a.playerId, score: 1600 }), 200);
      status(await create(a, { pool: 'ranked', skill: 3000, regions: ['eu'] }), 400);
      const own = await create(a, { pool: 'ranked', regions: ['eu'] });
      status(own, 201);
      assert.equal(own.json<Json>().skill, 1600);
      status(await call('DELETE', `/v1/matchmaker/tickets/${own.json<Json>().id as string}`, a.accessToken), 200);
      const both = await secret('POST', '/v1/matchmaker/tickets', { pool: 'ranked', player_ids: [a.playerId, b.playerId], regions: ['eu'] });
      status(both, 201);
      assert.equal(both.json<Json>().skill, 1300, 'the mean of 1600 and the default 1000');
    });

    it('bad tickets are 400, 404 or 403 and create nothing', async () => {
      const player = await createPlayer(app, project);
      const foreign = await createPlayer(app, await createProject(app, await createTenant(app)));
      const bad: [Json, number][] = [
        [{ pool: 'nope', skill: 1, regions: ['eu'] }, 404],
        [{ pool: 'duel', regions: ['eu'] }, 400],
        [{ pool: 'duel', skill: 1, regions: ['asia'] }, 400],
        [{ pool: 'duel', skill: 1, regions: [] }, 400],
        [{ pool: 'duel', skill: 1, regions: Array.from({ length: 9 }, (_, i) => `r${i}`) }, 400],
        [{ pool: 'duel', skill: 2e9, regions: ['eu'] }, 400],
        [{ pool: 'duel', skill: 1, regions: ['eu'], properties: { 'bad key': 1 } }, 400],
        [{ pool: 'duel', skill: 1, regions: ['eu'], properties: { mode: 'é'.repeat(33) } }, 400],
        [{ pool: 'duel', skill: 1, regions: ['eu'], properties: { mode: { nested: true } } }, 400],
        [{ pool: 'duel', skill: 1, regions: ['eu'], properties: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, i])) }, 400],
        [{ pool: 'duel', skill: 1, regions: ['eu'], player_ids: [player.playerId] }, 400],
        [{ pool: 'duel', skill: 1, regions: ['eu'], party_id: 'no-such-party' }, 403],
        [{ pool: 'duel', skill: 1, regions: ['eu'], extra: true }, 400],
      ];
      for (const [body, code] of bad) status(await create(player, body), code);
      const secretBad: [Json, number][] = [
        [{ pool: 'duel', player_ids: ['1', '2', '3'].map(() => player.playerId), skill: 1, regions: ['eu'] }, 400],
        [{ pool: 'duel', player_ids: [player.playerId, foreign.playerId], skill: 1, regions: ['eu'] }, 404],
        [{ pool: 'teams', player_ids: await Promise.all([1, 2, 3].map(async () => (await createPlayer(app, project)).playerId)), skill: 1, regions: ['eu'] }, 400],
        [{ pool: 'duel', skill: 1, regions: ['eu'] }, 400],
      ];
      for (const [body, code] of secretBad) status(await secret('POST', '/v1/matchmaker/tickets', body), code);
      status(await call('POST', '/v1/matchmaker/tickets', project.publishableKey, { pool: 'duel', skill: 1, regions: ['eu'] }), 403);
      assert.deepEqual(await active(player), []);
      status(await call('GET', '/v1/matchmaker/tickets/abc', player.accessToken), 400);
      status(await call('GET', '/v1/matchmaker/tickets?state=lost', player.accessToken), 400);
      status(await call('GET', '/v1/matchmaker/tickets', project.secretKey), 400);
      status(await call('GET', `/v1/matchmaker/tickets?player_id=${foreign.playerId}`, project.secretKey), 404);
    });

    it('lists a player\'s tickets newest first, by state, in pages; a secret key with ?player_id=', async () => {
      const player = await createPlayer(app, project);
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const ticket = (await create(player, { pool: 'duel', skill: i, regions: ['eu'] })).json<Json>();
        ids.unshift(ticket.id as string);
        if (i < 2) status(await call('DELETE', `/v1/matchmaker/tickets/${ticket.id as string}`, player.accessToken), 200);
      }
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const res = await call('GET', `/v1/matchmaker/tickets?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, player.accessToken);
        status(res, 200);
        const page = res.json<{ items: Json[]; next_cursor: string | null }>();
        seen.push(...page.items.map((item) => item.id as string));
        cursor = page.next_cursor;
      } while (cursor);
      assert.deepEqual(seen, ids);
      assert.deepEqual((await active(player)).map((item) => item.id), [ids[0]]);
      const cancelled = await secret('GET', `/v1/matchmaker/tickets?state=cancelled&player_id=${player.playerId}`);
      assert.deepEqual(cancelled.json<{ items: Json[] }>().items.map((item) => item.id), ids.slice(1));
    });

    it('over the socket: matchmaker.add and matchmaker.remove answer the ticket, and each change is a matchmaker.ticket event', async () => {
      const player = await createPlayer(app, project);
      const client = await socket(player);
      client.send({ op: 'matchmaker.add', id: 'a1', pool: 'duel', skill: 5, regions: ['eu'] });
      const added = await frameOf(client, 'ok', (f) => f.id === 'a1');
      const ticket = added.ticket as Json;
      assert.equal(ticket.state, 'searching');
      const created = await frameOf(client, 'matchmaker.ticket');
      assert.equal(typeof created.seq, 'number');
      assert.equal((created.ticket as Json).id, ticket.id);

      client.send({ op: 'matchmaker.add', id: 'a2', pool: 'duel', skill: 5, regions: ['eu'] });
      const refused = await frameOf(client, 'error', (f) => f.id === 'a2');
      assert.equal(refused.code, 'conflict');
      assert.equal(refused.ticket_id, ticket.id);
      client.send({ op: 'matchmaker.add', id: 'a3', pool: 'duel', regions: 'eu' });
      assert.equal((await frameOf(client, 'error', (f) => f.id === 'a3')).code, 'validation');
      client.send({ op: 'matchmaker.remove', id: 'r0', ticket_id: 'x' });
      assert.equal((await frameOf(client, 'error', (f) => f.id === 'r0')).code, 'validation');

      client.send({ op: 'matchmaker.remove', id: 'r1', ticket_id: ticket.id });
      const removed = await frameOf(client, 'ok', (f) => f.id === 'r1');
      assert.equal((removed.ticket as Json).state, 'cancelled');
      const event = await frameOf(client, 'matchmaker.ticket');
      assert.equal((event.ticket as Json).state, 'cancelled');
    });

    it('a party leader\'s ticket carries every member, who each hear of it; a member who is not the leader is 403', async () => {
      const [leader, member] = await Promise.all([createPlayer(app, project), createPlayer(app, project)]);
      const [cl, cm] = await Promise.all([socket(leader), socket(member)]);
      cl.send({ op: 'party.create', id: 'p', open: true });
      const party = (await frameOf(cl, 'ok', (f) => f.id === 'p')).party as Json;
      cm.send({ op: 'party.join', id: 'j', party_id: party.id });
      await frameOf(cm, 'ok', (f) => f.id === 'j');

      status(await create(member, { pool: 'teams', skill: 1, regions: ['eu'], party_id: party.id }), 403);
      const res = await create(leader, { pool: 'teams', skill: 1, regions: ['eu'], party_id: party.id });
      status(res, 201);
      const ticket = res.json<Json>();
      assert.deepEqual(new Set(ticket.players as string[]), new Set([leader.playerId, member.playerId]));
      assert.equal(ticket.party_id, party.id);
      for (const client of [cl, cm]) assert.equal(((await frameOf(client, 'matchmaker.ticket')).ticket as Json).id, ticket.id);
      status(await call('DELETE', `/v1/matchmaker/tickets/${ticket.id as string}`, member.accessToken), 200);
      for (const client of [cl, cm]) assert.equal(((await frameOf(client, 'matchmaker.ticket')).ticket as Json).state, 'cancelled');
    });

    it('a change of a party\'s members cancels its searching ticket, and the joiner\'s own ticket', async () => {
      const [leader, member, joiner] = await Promise.all([createPlayer(app, project), createPlayer(app, project), createPlayer(app, project)]);
      const [cl, cm, cj] = await Promise.all([socket(leader), socket(member), socket(joiner)]);
      cl.send({ op: 'party.create', id: 'p', open: true });
      const party = (await frameOf(cl, 'ok', (f) => f.id === 'p')).party as Json;
      cm.send({ op: 'party.join', id: 'j', party_id: party.id });
      await frameOf(cm, 'ok', (f) => f.id === 'j');
      const partyTicket = (await create(leader, { pool: 'teams', skill: 1, regions: ['eu'], party_id: party.id })).json<Json>();
      const own = (await create(joiner, { pool: 'duel', skill: 1, regions: ['eu'] })).json<Json>();
      await frameOf(cj, 'matchmaker.ticket');

      cj.send({ op: 'party.join', id: 'j2', party_id: party.id });
      await frameOf(cj, 'ok', (f) => f.id === 'j2');
      const cancelledOf = (client: Client, id: unknown) => frameOf(client, 'matchmaker.ticket', (f) => (f.ticket as Json).id === id && (f.ticket as Json).state === 'cancelled');
      await Promise.all([cancelledOf(cl, partyTicket.id), cancelledOf(cm, partyTicket.id), cancelledOf(cj, own.id)]);
      for (const player of [leader, member, joiner]) assert.deepEqual(await active(player), []);
    });

    it('a ticket past expires_at ends expired (max-wait), and its players hear of it', async () => {
      const player = await createPlayer(app, project);
      const client = await socket(player);
      const ticket = (await create(player, { pool: 'duel', skill: 1, regions: ['eu'] })).json<Json>();
      await frameOf(client, 'matchmaker.ticket');
      await database.db.operator('test: age a ticket', (tx) => tx.query("update matchmaker_tickets set expires_at = now() - interval '1 second' where id = $1", [ticket.id as string]));
      // The expiry job runs every 100 ms; a loaded machine may take a while (a generous bound, polled).
      const event = await frameOf(client, 'matchmaker.ticket', undefined, 20_000);
      assert.deepEqual([(event.ticket as Json).state, (event.ticket as Json).ended_reason], ['expired', 'max-wait']);
      const read = (await call('GET', `/v1/matchmaker/tickets/${ticket.id as string}`, player.accessToken)).json<Json>();
      assert.equal(read.state, 'expired');
      status(await create(player, { pool: 'duel', skill: 1, regions: ['eu'] }), 201);
    });

    it('deleting a pool ends its searching tickets cancelled (pool-deleted), and their players hear of it', async () => {
      status(await secret('POST', '/v1/matchmaker/pools', { ...POOL, id: 'doomed' }), 201);
      const player = await createPlayer(app, project);
      const client = await socket(player);
      const ticket = (await create(player, { pool: 'doomed', skill: 1, regions: ['eu'] })).json<Json>();
      await frameOf(client, 'matchmaker.ticket');
      status(await secret('DELETE', '/v1/matchmaker/pools/doomed'), 204);
      const event = await frameOf(client, 'matchmaker.ticket');
      assert.deepEqual([(event.ticket as Json).id, (event.ticket as Json).state, (event.ticket as Json).ended_reason], [ticket.id, 'cancelled', 'pool-deleted']);
      await eventually(async () => (await active(player)).length === 0, 5_000, 'no active ticket');
    });

    it('formed no match on the way (a test here that matched would race the matcher)', async () => {
      const rows = await database.db.operator('test: matches', (tx) => tx.query<{ n: number }>('select count(*)::int as n from matchmaker_matches'));
      assert.equal(rows[0]!.n, 0);
    });
  });
}
