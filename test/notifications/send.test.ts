/**
 * POST /v1/notifications: what a send stores and answers, every input it refuses (and that a refused send
 * stores nothing), the credentials it takes, Idempotency-Key, non-persistent notifications and the audit line.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { databaseKinds } from '../support/db.js';
import { bearer, type TestPlayer, type TestProject } from '../support/tenancy.js';
import {
  assertProblem,
  json,
  list,
  listAll,
  projectWithPlayers,
  remove,
  send,
  startSuite,
  storedCount,
  type PageJson,
  type SendJson,
  type Suite,
} from './helpers.js';

const base = { code: 'reward.granted', subject: 'You got a reward', content: { gold: 100, items: ['sword'] } };

for (const kind of databaseKinds()) {
  describe(`notification sends (${kind.name})`, () => {
    let s: Suite;
    let project: TestProject;
    let players: TestPlayer[];

    before(async () => {
      s = await startSuite(kind);
      ({ project, players } = await projectWithPlayers(s.app, 3));
    });
    after(async () => s?.close());

    it('stores one notification per player and answers their ids in the order of player_ids', async () => {
      const [a, b] = players as [TestPlayer, TestPlayer];
      const res = await send(s.app, project.secretKey, { ...base, player_ids: [b.playerId, a.playerId] });
      const answer = json<SendJson>(res, 201);
      assert.deepEqual(answer.items.map((item) => item.player_id), [b.playerId, a.playerId]);
      for (const item of answer.items) assert.match(item.id, /^[1-9][0-9]*$/);
      assert.notEqual(answer.items[0]!.id, answer.items[1]!.id);

      const page = json<PageJson>(await list(s.app, a.accessToken));
      const mine = page.items.find((item) => item.id === answer.items[1]!.id);
      assert.ok(mine, 'listed to its player');
      assert.deepEqual({ ...mine, created_at: undefined }, {
        id: answer.items[1]!.id,
        code: 'reward.granted',
        subject: 'You got a reward',
        content: { gold: 100, items: ['sword'] },
        sender_id: null,
        persistent: true,
        collapse_key: null,
        created_at: undefined,
      });
      assert.ok(Math.abs(Date.parse(mine.created_at) - Date.now()) < 60_000, mine.created_at);
      // Each player sees only its own.
      const theirs = json<PageJson>(await list(s.app, b.accessToken)).items.map((item) => item.id);
      assert.ok(theirs.includes(answer.items[0]!.id) && !theirs.includes(answer.items[1]!.id));
    });

    it('accepts subjects and content right at their bounds', async () => {
      const subject = 'é'.repeat(128); // 256 bytes
      const content = { text: 'x'.repeat(4096 - '{"text":""}'.length) }; // exactly 4 KiB of JSON
      const answer = json<SendJson>(await send(s.app, project.secretKey, { ...base, subject, content, player_ids: [players[2]!.playerId], collapse_key: 'k'.repeat(64) }), 201);
      const stored = (await listAll(s.app, players[2]!)).find((item) => item.id === answer.items[0]!.id);
      assert.equal(stored?.subject, subject);
      assert.deepEqual(stored?.content, content);
    });

    it('refuses bad input with 400 and stores nothing', async () => {
      const one = [players[0]!.playerId];
      const bad: [string, unknown][] = [
        ['no player_ids', { ...base, player_ids: [] }],
        ['duplicate player_ids', { ...base, player_ids: [one[0], one[0]] }],
        ['1,001 player_ids', { ...base, player_ids: Array.from({ length: 1001 }, (_, i) => String(i + 1)) }],
        ['a player id that is not an id', { ...base, player_ids: ['abc'] }],
        ['a code with capitals', { ...base, player_ids: one, code: 'Reward' }],
        ['an empty code', { ...base, player_ids: one, code: '' }],
        ['a code of 65 characters', { ...base, player_ids: one, code: 'a'.repeat(65) }],
        ["a code in ggscale's own namespace", { ...base, player_ids: one, code: 'ggscale.friend_request' }],
        ['an empty subject', { ...base, player_ids: one, subject: '' }],
        ['a subject of 257 bytes', { ...base, player_ids: one, subject: 'é'.repeat(128) + 'x' }],
        ['content that is an array', { ...base, player_ids: one, content: [] }],
        ['content that is a string', { ...base, player_ids: one, content: 'hi' }],
        ['no content', { code: base.code, subject: base.subject, player_ids: one }],
        ['an empty collapse_key', { ...base, player_ids: one, collapse_key: '' }],
        ['a collapse_key of 65 bytes', { ...base, player_ids: one, collapse_key: 'é'.repeat(32) + 'x' }],
        ['persistent that is not a boolean', { ...base, player_ids: one, persistent: 'yes' }],
        ['an unknown field', { ...base, player_ids: one, priority: 1 }],
        ['a NUL in the subject', { ...base, player_ids: one, subject: 'a\u0000b' }],
      ];
      const before = await storedCount(s.database, project.projectId);
      for (const [what, body] of bad) assertProblem(await send(s.app, project.secretKey, body), 400, 'validation', what);
      assertProblem(await send(s.app, project.secretKey, { ...base, player_ids: one }, { 'idempotency-key': 'bad\u0001key' }), 400, 'validation', 'a bad key');
      assert.equal(await storedCount(s.database, project.projectId), before);
    });

    it('refuses content over 4 KiB of JSON with 413 and stores nothing', async () => {
      const before = await storedCount(s.database, project.projectId);
      const content = { text: 'x'.repeat(4097 - '{"text":""}'.length) };
      assertProblem(await send(s.app, project.secretKey, { ...base, content, player_ids: [players[0]!.playerId] }), 413, 'payload-too-large');
      // Measured in UTF-8 bytes: 2,049 two-byte characters are 4,098 bytes.
      const wide = { t: 'é'.repeat(2045) };
      assertProblem(await send(s.app, project.secretKey, { ...base, content: wide, player_ids: [players[0]!.playerId] }), 413, 'payload-too-large');
      assert.equal(await storedCount(s.database, project.projectId), before);
    });

    it('is 404 naming the ids that are not players of the project, and sends nothing', async () => {
      const before = await storedCount(s.database, project.projectId);
      const unknown = Array.from({ length: 150 }, (_, i) => String(900_000_000 + i));
      const res = await send(s.app, project.secretKey, { ...base, player_ids: [players[0]!.playerId, ...unknown] });
      const problem = assertProblem(res, 404, 'not-found');
      const named = problem.player_ids as string[];
      assert.equal(named.length, 100);
      for (const id of named) assert.ok(unknown.includes(id), id);
      const one = assertProblem(await send(s.app, project.secretKey, { ...base, player_ids: ['999999999999'] }), 404, 'not-found');
      assert.deepEqual(one.player_ids, ['999999999999']);
      assert.equal(await storedCount(s.database, project.projectId), before);
    });

    it('takes a secret key only: a player token and a publishable key are 403, no credential 401', async () => {
      const body = { ...base, player_ids: [players[0]!.playerId] };
      assertProblem(await send(s.app, players[0]!.accessToken, body), 403, 'forbidden', 'player token');
      assertProblem(await send(s.app, project.publishableKey, body), 403, 'forbidden', 'publishable key');
      const anonymous = await s.app.inject({ method: 'POST', url: '/v1/notifications', payload: body });
      assertProblem(anonymous, 401, 'unauthorized', 'no credential');
    });

    it('delivers a non-persistent notification live only: an id of its own, never listed or deletable', async () => {
      const player = players[1]!;
      const before = await storedCount(s.database, project.projectId);
      const answer = json<SendJson>(await send(s.app, project.secretKey, { ...base, persistent: false, player_ids: [player.playerId] }), 201);
      const id = answer.items[0]!.id;
      assert.match(id, /^live_[0-9a-f]{24}$/);
      assert.equal(await storedCount(s.database, project.projectId), before);
      assert.ok(!(await listAll(s.app, player)).some((item) => item.id === id));
      assertProblem(await remove(s.app, player.accessToken, id), 404, 'not-found');
    });

    it('honours Idempotency-Key: a retry answers the first answer and sends nothing; another body is 409', async () => {
      const player = players[2]!;
      const key = { 'idempotency-key': `send-${kind.name}` };
      const body = { ...base, player_ids: [player.playerId] };
      const first = json<SendJson>(await send(s.app, project.secretKey, body, key), 201);
      const count = await storedCount(s.database, project.projectId);
      const retry = json<SendJson>(await send(s.app, project.secretKey, body, key), 201);
      assert.deepEqual(retry, first);
      assert.equal(await storedCount(s.database, project.projectId), count);
      assertProblem(await send(s.app, project.secretKey, { ...body, subject: 'Another' }, key), 409, 'conflict');
      assert.equal(await storedCount(s.database, project.projectId), count);
      // A key that failed (404) leaves nothing behind: the same key works once the request is good.
      const failedKey = { 'idempotency-key': `failed-${kind.name}` };
      assertProblem(await send(s.app, project.secretKey, { ...body, player_ids: ['999999999999'] }, failedKey), 404, 'not-found');
      json<SendJson>(await send(s.app, project.secretKey, body, failedKey), 201);
      // Keys are the project's: another project's secret key with the same key sends its own.
      const other = await projectWithPlayers(s.app, 1);
      const elsewhere = json<SendJson>(await send(s.app, other.project.secretKey, { ...base, player_ids: [other.players[0]!.playerId] }, key), 201);
      assert.notDeepEqual(elsewhere, first);
    });

    it('logs an audit line with the code and the count, never the content', async () => {
      const secret = `secret-${kind.name}-content`;
      await send(s.app, project.secretKey, { ...base, content: { secret }, player_ids: [players[0]!.playerId, players[1]!.playerId] });
      const line = s.t.logs.records().find((record) => record.audit === true && record.action === 'notification.send' && record.count === 2);
      assert.ok(line, 'an audit line');
      assert.equal(line.code, 'reward.granted');
      assert.equal(line.actor, `api_key:${project.secretKeyId}`);
      assert.ok(!s.t.logs.lines.some((text) => text.includes(secret)), 'the content is never logged');
    });

    it('refuses a body that is not JSON', async () => {
      const res = await s.app.inject({
        method: 'POST',
        url: '/v1/notifications',
        headers: { ...bearer(project.secretKey), 'content-type': 'application/json' },
        payload: '{"player_ids":',
      });
      assert.equal(res.statusCode, 400, res.body);
    });
  });
}
