/**
 * Friend requests over REST: asking by id or username, the mutual request, accepting, declining, removing,
 * the notifications each stores, the listing's order and pages, and every bad input answered with a problem
 * that changes nothing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { databaseKinds } from '../support/db.js';
import { bearer, type TestPlayer, type TestProject } from '../support/tenancy.js';
import {
  assertProblem,
  befriend,
  friends,
  json,
  listAll,
  notificationsOf,
  projectWithPlayers,
  sameness,
  startSuite,
  storedRows,
  usernameOf,
  type PageJson,
  type RelationJson,
  type Suite,
} from './helpers.js';

const UNKNOWN = '999999999999999999';
const RANK: Record<string, number> = { friend: 1, invite_received: 2, invite_sent: 3, blocked: 4 };
const byteWise = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

for (const kind of databaseKinds()) {
  describe(`friend requests (${kind.name})`, () => {
    let s: Suite;
    let f: ReturnType<typeof friends>;
    let project: TestProject;
    let players: TestPlayer[];
    let next = 0;
    /** A fresh player of the project for each test (no relations yet). */
    const fresh = () => players[next++]!;

    before(async () => {
      s = await startSuite(kind);
      f = friends(s.app);
      ({ project, players } = await projectWithPlayers(s, 30));
    });
    after(async () => s?.close());

    it('a request is 201 invite_sent; the other player sees invite_received and is notified once', async () => {
      const [a, b] = [fresh(), fresh()];
      const sent = json<RelationJson>(await f.request(a.accessToken, { player_id: b.playerId }), 201);
      assert.deepEqual({ ...sent, updated_at: undefined }, {
        player: { id: b.playerId, username: await usernameOf(s, b.playerId) },
        state: 'invite_sent',
        updated_at: undefined,
        presence: null,
      });
      assert.ok(!Number.isNaN(Date.parse(sent.updated_at)));
      const received = json<RelationJson>(await f.get(b.accessToken, a.playerId));
      assert.deepEqual([received.player, received.state], [{ id: a.playerId, username: await usernameOf(s, a.playerId) }, 'invite_received']);

      const [note] = await notificationsOf(s, b);
      assert.deepEqual(
        { code: note?.code, content: note?.content, sender_id: note?.sender_id },
        { code: 'ggscale.friend_request', content: { player_id: a.playerId, username: await usernameOf(s, a.playerId) }, sender_id: a.playerId },
      );
      assert.ok(note!.subject.length > 0);

      // Asking again changes nothing and sends nothing.
      const again = json<RelationJson>(await f.request(a.accessToken, { player_id: b.playerId }), 200);
      assert.deepEqual(again, sent);
      assert.equal((await notificationsOf(s, b)).length, 1);
      assert.deepEqual(await notificationsOf(s, a), []);
    });

    it('by username, compared case-insensitively; an unknown username is 404', async () => {
      const [a, b] = [fresh(), fresh()];
      const username = (await usernameOf(s, b.playerId))!;
      const sent = json<RelationJson>(await f.request(a.accessToken, { username: username.toUpperCase() }), 201);
      assert.equal(sent.player.id, b.playerId);
      assertProblem(await f.request(a.accessToken, { username: 'nobody_by_that_name' }), 404, 'not-found');
    });

    it('the mutual request accepts (200 friend) and tells the first requester; asking a friend again is 200 unchanged', async () => {
      const [a, b] = [fresh(), fresh()];
      json(await f.request(a.accessToken, { player_id: b.playerId }), 201);
      const mutual = json<RelationJson>(await f.request(b.accessToken, { player_id: a.playerId }), 200);
      assert.equal(mutual.state, 'friend');
      assert.equal(json<RelationJson>(await f.get(a.accessToken, b.playerId)).state, 'friend');
      const toA = await notificationsOf(s, a);
      assert.deepEqual(toA.map((n) => [n.code, n.sender_id, n.content]), [['ggscale.friend_accepted', b.playerId, { player_id: b.playerId, username: await usernameOf(s, b.playerId) }]]);

      const again = json<RelationJson>(await f.request(a.accessToken, { player_id: b.playerId }), 200);
      assert.equal(again.state, 'friend');
      assert.equal((await notificationsOf(s, a)).length, 1);
      assert.equal((await notificationsOf(s, b)).length, 1, 'b got the request only');
    });

    it('accept: 200 friend on both sides and the requester is notified; 404 without a request, the same as an unknown player', async () => {
      const [a, b, c] = [fresh(), fresh(), fresh()];
      json(await f.request(a.accessToken, { player_id: b.playerId }), 201);
      assertProblem(await f.accept(a.accessToken, b.playerId), 404, 'not-found', 'the requester cannot accept its own request');
      const accepted = json<RelationJson>(await f.accept(b.accessToken, a.playerId));
      assert.deepEqual([accepted.player.id, accepted.state], [a.playerId, 'friend']);
      assert.equal(json<RelationJson>(await f.get(a.accessToken, b.playerId)).state, 'friend');
      assert.deepEqual((await notificationsOf(s, a)).map((n) => n.code), ['ggscale.friend_accepted']);

      const unrelated = await f.accept(c.accessToken, a.playerId);
      assertProblem(unrelated, 404, 'not-found');
      assert.deepEqual(sameness(unrelated), sameness(await f.accept(c.accessToken, UNKNOWN)));
      assertProblem(await f.accept(b.accessToken, a.playerId), 404, 'not-found', 'already friends');
    });

    it('decline: 204, the request goes from both sides and nobody is notified; 404 without a request', async () => {
      const [a, b] = [fresh(), fresh()];
      json(await f.request(a.accessToken, { player_id: b.playerId }), 201);
      assert.equal((await f.decline(b.accessToken, a.playerId)).statusCode, 204);
      assertProblem(await f.get(a.accessToken, b.playerId), 404, 'not-found');
      assertProblem(await f.get(b.accessToken, a.playerId), 404, 'not-found');
      assert.deepEqual(await notificationsOf(s, a), []);
      assertProblem(await f.decline(b.accessToken, a.playerId), 404, 'not-found');
      assertProblem(await f.decline(a.accessToken, b.playerId), 404, 'not-found');
      // Declined is not blocked: asking again works.
      json(await f.request(a.accessToken, { player_id: b.playerId }), 201);
    });

    it('DELETE ends a friendship on both sides, withdraws a sent request, declines a received one; 404 when there is nothing', async () => {
      const [a, b, c, d] = [fresh(), fresh(), fresh(), fresh()];
      await befriend(s.app, a, b);
      assert.equal((await f.remove(b.accessToken, a.playerId)).statusCode, 204);
      assertProblem(await f.get(a.accessToken, b.playerId), 404, 'not-found');
      json(await f.request(a.accessToken, { player_id: c.playerId }), 201);
      assert.equal((await f.remove(a.accessToken, c.playerId)).statusCode, 204, 'withdrawn');
      assertProblem(await f.get(c.accessToken, a.playerId), 404, 'not-found');
      json(await f.request(d.accessToken, { player_id: a.playerId }), 201);
      assert.equal((await f.remove(a.accessToken, d.playerId)).statusCode, 204, 'declined');
      assertProblem(await f.get(d.accessToken, a.playerId), 404, 'not-found');
      const nothing = await f.remove(a.accessToken, b.playerId);
      assertProblem(nothing, 404, 'not-found');
      assert.deepEqual(sameness(nothing), sameness(await f.remove(a.accessToken, UNKNOWN)));
    });

    it('bad requests are 400 or 404 and change nothing', async () => {
      const [a, b] = [fresh(), fresh()];
      const rows = await storedRows(s, project.projectId);
      const username = await usernameOf(s, b.playerId);
      assertProblem(await f.request(a.accessToken, { player_id: a.playerId }), 400, 'validation', 'oneself');
      assertProblem(await f.request(a.accessToken, { username: await usernameOf(s, a.playerId) }), 400, 'validation', 'oneself by name');
      assertProblem(await f.request(a.accessToken, { player_id: b.playerId, username }), 400, 'validation', 'both');
      assertProblem(await f.request(a.accessToken, {}), 400, 'validation', 'neither');
      assertProblem(await f.request(a.accessToken, { player_id: b.playerId, extra: 1 }), 400, 'validation', 'unknown field');
      assertProblem(await f.request(a.accessToken, { player_id: 'abc' }), 400, 'validation', 'bad id');
      assertProblem(await f.request(a.accessToken, { player_id: Number(b.playerId) }), 400, 'validation', 'a number');
      assertProblem(await f.request(a.accessToken, { username: 'bad name!' }), 400, 'validation', 'bad username');
      assertProblem(await f.request(a.accessToken, { player_id: UNKNOWN }), 404, 'not-found', 'unknown');
      assertProblem(await f.accept(a.accessToken, 'abc'), 400, 'validation', 'bad path id');
      assertProblem(await f.list(a.accessToken, '?limit=0'), 400, 'validation');
      assertProblem(await f.list(a.accessToken, '?limit=101'), 400, 'validation');
      assertProblem(await f.list(a.accessToken, '?state=enemy'), 400, 'validation');
      assertProblem(await f.list(a.accessToken, '?cursor=nonsense'), 400, 'validation');
      assertProblem(await f.list(a.accessToken, `?cursor=${Buffer.from('{"r":9,"p":"1"}').toString('base64url')}`), 400, 'validation');
      assert.deepEqual(await storedRows(s, project.projectId), rows);
    });

    it('acting for a player: a secret key with ?player_id=, never without; a player token never with it', async () => {
      const [a, b] = [fresh(), fresh()];
      const sent = json<RelationJson>(await f.request(project.secretKey, { player_id: b.playerId }, `?player_id=${a.playerId}`), 201);
      assert.equal(sent.state, 'invite_sent');
      assert.equal(json<RelationJson>(await f.accept(project.secretKey, a.playerId, `?player_id=${b.playerId}`)).state, 'friend');
      assert.equal(json<PageJson>(await f.list(project.secretKey, `?player_id=${a.playerId}`)).items[0]?.player.id, b.playerId);
      assertProblem(await f.list(project.secretKey), 400, 'validation', 'secret key without player_id');
      assertProblem(await f.request(project.secretKey, { player_id: b.playerId }), 400, 'validation', 'secret key without player_id');
      assertProblem(await f.list(a.accessToken, `?player_id=${a.playerId}`), 400, 'validation', 'player token with player_id');
      assertProblem(await f.list(project.secretKey, `?player_id=${UNKNOWN}`), 404, 'not-found', 'unknown acting player');
      assertProblem(await f.block(project.secretKey, b.playerId, `?player_id=${UNKNOWN}`), 404, 'not-found', 'unknown acting player');
      const publishable = await s.app.inject({ method: 'GET', url: '/v1/friends', headers: bearer(project.publishableKey) });
      assert.equal(publishable.statusCode, 403, publishable.body);
      assert.equal((await s.app.inject({ method: 'GET', url: '/v1/friends' })).statusCode, 401);
    });

    it('lists by state (friend, invite_received, invite_sent, blocked), then player id byte-wise, in pages; state filters', async () => {
      const me = fresh();
      const others = [fresh(), fresh(), fresh(), fresh(), fresh(), fresh(), fresh()];
      const expected: [string, string][] = [];
      for (const [i, other] of others.entries()) {
        if (i % 4 === 0) {
          await befriend(s.app, me, other);
          expected.push([other.playerId, 'friend']);
        } else if (i % 4 === 1) {
          json(await f.request(other.accessToken, { player_id: me.playerId }), 201);
          expected.push([other.playerId, 'invite_received']);
        } else if (i % 4 === 2) {
          json(await f.request(me.accessToken, { player_id: other.playerId }), 201);
          expected.push([other.playerId, 'invite_sent']);
        } else {
          json(await f.block(me.accessToken, other.playerId));
          expected.push([other.playerId, 'blocked']);
        }
      }
      expected.sort((x, y) => RANK[x[1]]! - RANK[y[1]]! || byteWise(x[0], y[0]));

      const seen: [string, string][] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page: PageJson = json<PageJson>(await f.list(me.accessToken, `?limit=2${cursor ? `&cursor=${cursor}` : ''}`));
        assert.ok(page.items.length <= 2);
        seen.push(...page.items.map((item): [string, string] => [item.player.id, item.state]));
        cursor = page.next_cursor;
        pages++;
      } while (cursor);
      assert.deepEqual(seen, expected);
      assert.equal(pages, 4);
      const all = await listAll(s.app, me.accessToken);
      // Friends carry their presence (offline here: no socket is open); no other relation does.
      assert.ok(all.every((item) => typeof item.player.username === 'string'));
      assert.ok(all.every((item) => (item.state === 'friend' ? (item.presence as { online?: boolean } | null)?.online === false : item.presence === null)));

      for (const state of Object.keys(RANK)) {
        const filtered = await listAll(s.app, me.accessToken, `&state=${state}`);
        assert.deepEqual(filtered.map((item) => [item.player.id, item.state]), expected.filter(([, st]) => st === state), state);
      }
      // A player with nothing: an empty page.
      assert.deepEqual(json<PageJson>(await f.list(fresh().accessToken)), { items: [], next_cursor: null });
    });
  });
}
