/**
 * Holding a pass's groups (src/modules/matchmaker/match-store.ts): every group formed in a pass becomes a held
 * match whose tickets are claimed all or none, in a fixed number of statements. A group with a ticket that
 * stopped searching (or was claimed) since the pass read it is not held: no match row is left for it, and its
 * other tickets stay free; the pass's other groups are held whatever happened to that one.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { buildTestApp, type TestApp } from '../support/app.js';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import { createPlayer, createProject, createTenant, type TestProject } from '../support/tenancy.js';
import { MatchStore } from '../../src/modules/matchmaker/match-store.js';
import type { FormedMatch, SearchingTicket } from '../../src/modules/matchmaker/forming-types.js';
import { caller, type Json } from './helpers.js';

// A window of 0 and distinct skills: the app's own matcher never forms a group here; the test forms them.
const POOL = { id: 'duel', fleet: 'default', min_players: 2, max_players: 2, skill: { window_start: 0, growth_per_second: 0 }, max_wait_seconds: 60 };

for (const kind of databaseKinds()) {
  describe(`matchmaker: holding a pass's groups (${kind.name})`, () => {
    let database: TestDatabase;
    let t: TestApp;
    let app: FastifyInstance;
    let project: TestProject;
    let store: MatchStore;
    const call = caller(() => app);

    before(async () => {
      database = await kind.create();
      t = await buildTestApp({ db: database.db, env: { MATCHMAKER_INTERVAL_MS: '60000' } });
      app = t.app;
      project = await createProject(app, await createTenant(app));
      assert.equal((await call('POST', '/v1/matchmaker/pools', project.secretKey, POOL)).statusCode, 201);
      store = new MatchStore(database.db);
    });
    after(async () => {
      await t?.close();
      await database?.drop();
    });

    async function tickets(count: number, firstSkill: number): Promise<SearchingTicket[]> {
      const players = await Promise.all(Array.from({ length: count }, () => createPlayer(app, project)));
      const made: SearchingTicket[] = [];
      for (const [index, player] of players.entries()) {
        const res = await call('POST', '/v1/matchmaker/tickets', player.accessToken, { pool: 'duel', skill: firstSkill + index, regions: ['eu'] });
        assert.equal(res.statusCode, 201, res.body);
        const ticket = res.json<Json>();
        made.push({ id: ticket.id as string, createdAtMs: Date.parse(ticket.created_at as string), players: [player.playerId], skill: ticket.skill as number, regions: ['eu'], properties: {} });
      }
      return made;
    }
    const pair = (a: SearchingTicket, b: SearchingTicket): FormedMatch => ({
      anchorId: a.id,
      region: 'eu',
      tickets: [a, b],
      teams: [{ index: 0, ticketIds: [a.id, b.id], players: [...a.players, ...b.players] }],
      properties: {},
    });
    const scope = () => ({ tenantId: project.tenantId, projectId: project.projectId });
    const heldBy = async (ids: string[]) =>
      database.db.operator('test: held_by', (tx) =>
        tx.query<{ id: string; held_by: string | null }>('select id::text as id, held_by::text as held_by from matchmaker_tickets where id = any($1::bigint[]) order by id', [`{${ids.join(',')}}`]),
      );
    const matchIds = async () =>
      (await database.db.operator('test: matches', (tx) => tx.query<{ id: string }>('select id::text as id from matchmaker_matches order by id'))).map((row) => row.id);

    it('holds every group of a pass, each match with its own tickets, in the order formed', async () => {
      const made = await tickets(6, 1000);
      const groups = [pair(made[0]!, made[1]!), pair(made[2]!, made[3]!), pair(made[4]!, made[5]!)];
      const held = await store.formAndHold(scope(), 'duel', 30, () => groups);
      assert.ok(held);
      assert.equal(held.length, 3);
      for (const [index, match] of held.entries()) {
        const ticketIds = groups[index]!.tickets.map((ticket) => ticket.id);
        assert.deepEqual(match.teams[0]!.players.map((p) => p.ticket_id), ticketIds);
        assert.deepEqual((await heldBy(ticketIds)).map((row) => row.held_by), [match.id, match.id], `group ${index} is held by its own match`);
      }
      assert.deepEqual((await matchIds()).slice(-3), held.map((match) => match.id));
    });

    it('does not hold a group whose ticket stopped searching since the read; the pass\'s other groups are held', async () => {
      const made = await tickets(4, 2000);
      const cancelled = made[1]!;
      const res = await app.inject({ method: 'DELETE', url: `/v1/matchmaker/tickets/${cancelled.id}`, headers: { authorization: `Bearer ${project.secretKey}` } });
      assert.equal(res.statusCode, 200, res.body);
      const before = await matchIds();
      const held = await store.formAndHold(scope(), 'duel', 30, () => [pair(made[0]!, cancelled), pair(made[2]!, made[3]!)]);
      assert.ok(held);
      assert.equal(held.length, 1);
      assert.deepEqual(held[0]!.teams[0]!.players.map((p) => p.ticket_id), [made[2]!.id, made[3]!.id]);
      assert.deepEqual(await matchIds(), [...before, held[0]!.id], 'the broken group left no match row');
      assert.deepEqual((await heldBy([made[0]!.id])).map((row) => row.held_by), [null], 'its other ticket is free to search on');
    });

    it('holds one of two groups that share a ticket (forming never answers that), and frees the other\'s tickets', async () => {
      const made = await tickets(3, 3000);
      const before = await matchIds();
      const held = await store.formAndHold(scope(), 'duel', 30, () => [pair(made[0]!, made[1]!), pair(made[2]!, made[1]!)]);
      assert.ok(held);
      assert.equal(held.length, 1);
      const holder = held[0]!.id;
      const rows = await heldBy(made.map((ticket) => ticket.id));
      assert.deepEqual(rows.filter((row) => row.held_by !== null).map((row) => row.held_by), [holder, holder]);
      assert.deepEqual(await matchIds(), [...before, holder]);
    });
  });
}
