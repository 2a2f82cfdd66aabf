/**
 * History over REST: newest first (and below before_seq), oldest first above after_seq, next_cursor in the
 * same direction, both cursors 400; who reads what (any room, own dms, a party only through its access; a
 * secret key everything of its project by the canonical dm form); deletes (own messages for a player, any
 * for a secret key, audited), the channel.message_deleted event, and the hole a delete leaves (a seq is never
 * reused); the retention purge; isolation: another project's channel of the same name is another channel.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ChatMessage } from '../../src/modules/chat/api.js';
import { ChatRetentionPurge } from '../../src/modules/chat/retention-purge.js';
import { createLogger } from '../../src/internal/telemetry/logger.js';
import { LogCapture } from '../support/app.js';
import { databaseKinds } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import type { TestPlayer, TestProject } from '../support/tenancy.js';
import { assertProblem, dmOf, history, json, ok, projectWithPlayers, removeMessage, setLimits, startSuite, take, type Suite } from './helpers.js';

const quietLogger = createLogger({ level: 'warn', destination: new LogCapture() });

interface Page {
  items: ChatMessage[];
  next_cursor: number | null;
}

for (const kind of databaseKinds()) {
  describe(`chat history (${kind.name})`, () => {
    let s: Suite;
    let project: TestProject;
    let players: TestPlayer[];

    before(async () => {
      s = await startSuite(kind);
      ({ project, players } = await projectWithPlayers(s, 4));
      const client = await s.node.open(players[0]!);
      await ok(client, { op: 'channel.join', channel: 'room:hist' });
      for (let i = 1; i <= 7; i++) await ok(client, { op: 'channel.send', channel: 'room:hist', text: `t${i}` });
    });
    after(() => s.close());

    const seqs = (page: Page) => page.items.map((m) => m.seq);

    it('pages newest first, below before_seq, and oldest first above after_seq, each cursor continuing its direction', async () => {
      const token = players[1]!.accessToken;
      const newest = json<Page>(await history(s.app, token, 'room:hist', '?limit=3'));
      assert.deepEqual(seqs(newest), [7, 6, 5]);
      assert.equal(newest.next_cursor, 5);
      const next = json<Page>(await history(s.app, token, 'room:hist', `?limit=3&before_seq=${newest.next_cursor}`));
      assert.deepEqual(seqs(next), [4, 3, 2]);
      const last = json<Page>(await history(s.app, token, 'room:hist', `?limit=3&before_seq=${next.next_cursor}`));
      assert.deepEqual(seqs(last), [1]);
      assert.equal(last.next_cursor, null);
      const oldest = json<Page>(await history(s.app, token, 'room:hist', '?limit=4&after_seq=0'));
      assert.deepEqual(seqs(oldest), [1, 2, 3, 4]);
      assert.equal(oldest.next_cursor, 4);
      const rest = json<Page>(await history(s.app, token, 'room:hist', `?limit=4&after_seq=${oldest.next_cursor}`));
      assert.deepEqual(seqs(rest), [5, 6, 7]);
      assert.equal(rest.next_cursor, null);
      const all = json<Page>(await history(s.app, token, 'room:hist'));
      assert.deepEqual(seqs(all), [7, 6, 5, 4, 3, 2, 1]);
      assert.equal(all.items[0]!.text, 't7');
      assert.equal(all.items[0]!.sender_id, players[0]!.playerId);
      assert.equal(typeof all.items[0]!.username, 'string');
      assert.deepEqual(json<Page>(await history(s.app, token, 'room:never')), { items: [], next_cursor: null });
      assertProblem(await history(s.app, token, 'room:hist', '?before_seq=3&after_seq=1'), 400, 'validation');
      for (const bad of ['?limit=0', '?limit=101', '?before_seq=-1', '?after_seq=x', '?other=1']) {
        assertProblem(await history(s.app, token, 'room:hist', bad), 400, 'validation', bad);
      }
      for (const bad of ['lobby', 'group:x', 'room:a b', 'dm:0']) assertProblem(await history(s.app, token, bad), 400, 'validation', bad);
    });

    it("a player reads rooms and its own dms; another pair's dm and unknown parties are 404; a secret key reads all", async () => {
      const [a, b, c] = players as [TestPlayer, TestPlayer, TestPlayer];
      const ca = await s.node.open(a);
      await ok(ca, { op: 'channel.join', channel: `dm:${b.playerId}` });
      await ok(ca, { op: 'channel.send', channel: `dm:${b.playerId}`, text: 'secret' });
      const dm = dmOf(a, b);
      assert.deepEqual(seqs(json<Page>(await history(s.app, b.accessToken, `dm:${a.playerId}`))), [1]);
      assert.equal(json<Page>(await history(s.app, a.accessToken, dm)).items[0]!.channel, dm);
      const forC = await history(s.app, c.accessToken, dm);
      const unknown = await history(s.app, c.accessToken, 'dm:999999999');
      assertProblem(forC, 404, 'not-found');
      assertProblem(unknown, 404, 'not-found');
      assertProblem(await history(s.app, c.accessToken, 'party:nope'), 404, 'not-found');
      assert.deepEqual(seqs(json<Page>(await history(s.app, project.secretKey, dm))), [1]);
      assert.deepEqual(seqs(json<Page>(await history(s.app, project.secretKey, `dm:${dm.split(':')[2]}:${dm.split(':')[1]}`))), [1]);
      assertProblem(await history(s.app, project.secretKey, `dm:${a.playerId}`), 400, 'validation');
      assert.equal(json<Page>(await history(s.app, project.secretKey, 'party:any')).items.length, 0);
      assert.equal((await history(s.app, project.publishableKey, 'room:hist')).statusCode, 403);
      assert.equal((await history(s.app, 'not-a-credential', 'room:hist')).statusCode, 401);
    });

    it('deletes: a player its own messages only, a secret key any (audited); joined connections hear it; the seq stays a hole', async () => {
      const [a, b] = players as [TestPlayer, TestPlayer];
      const cb = await s.node.open(b);
      await ok(cb, { op: 'channel.join', channel: 'room:hist' });
      assertProblem(await removeMessage(s.app, b.accessToken, 'room:hist', 7), 404, 'not-found', "another player's message");
      assertProblem(await removeMessage(s.app, a.accessToken, 'room:hist', 99), 404, 'not-found', 'no such seq');
      assertProblem(await removeMessage(s.app, a.accessToken, 'room:hist', 'x'), 400, 'validation');
      assertProblem(await removeMessage(s.app, a.accessToken, 'group:x', 1), 400, 'validation');
      assert.equal((await removeMessage(s.app, a.accessToken, 'room:hist', 7)).statusCode, 204);
      await eventually(() => take(cb, 'channel.message_deleted').length === 1, 5_000, 'the deleted event');
      assertProblem(await removeMessage(s.app, a.accessToken, 'room:hist', 7), 404, 'not-found', 'deleted twice');
      const before = s.node.t.logs.lines.length;
      assert.equal((await removeMessage(s.app, project.secretKey, 'room:hist', 6)).statusCode, 204);
      const audit = s.node.t.logs.lines.slice(before).map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => line.action === 'chat.message_delete');
      assert.ok(audit, 'an audit line');
      assert.equal(audit.channel, 'room:hist');
      assert.equal(audit.seq, 6);
      assert.equal(audit.audit, true);
      assert.deepEqual(seqs(json<Page>(await history(s.app, b.accessToken, 'room:hist', '?limit=2'))), [5, 4]);
      const sent = await ok(cb, { op: 'channel.send', channel: 'room:hist', text: 't8' });
      assert.equal(sent.seq, 8, 'a deleted seq is never reused');
      const joined = await ok(await s.node.open(players[3]!), { op: 'channel.join', channel: 'room:hist', history: 3 });
      assert.deepEqual((joined.messages as ChatMessage[]).map((m) => m.seq), [4, 5, 8]);
      assert.equal(joined.last_seq, 8);
    });

    it('the retention purge deletes messages past the project retention (overridable) and keeps the seq counter', async () => {
      const { project: old, players: [p] } = await projectWithPlayers(s, 1);
      const client = await s.node.open(p!);
      await ok(client, { op: 'channel.join', channel: 'room:old' });
      for (const text of ['a', 'b', 'c']) await ok(client, { op: 'channel.send', channel: 'room:old', text });
      await s.database.db.operator('test.age', (tx) =>
        tx.query(`update chat_messages set created_at = now() - interval '10 days' where project_id = $1 and seq <= 2`, [old.projectId]),
      );
      const purge = new ChatRetentionPurge(s.database.db, quietLogger, { intervalMs: 0, retentionDays: 30, batchSize: 1, batchesPerPass: 10 });
      await purge.pass();
      assert.equal(json<Page>(await history(s.app, p!.accessToken, 'room:old')).items.length, 3, 'within the deployment retention');
      await setLimits(s.app, old, { chat_retention_days: 5 });
      assert.ok((await purge.pass()) >= 2);
      assert.deepEqual(seqs(json<Page>(await history(s.app, p!.accessToken, 'room:old'))), [3]);
      assert.deepEqual(seqs(json<Page>(await history(s.app, players[0]!.accessToken, 'room:hist', '?limit=1'))), [8], 'other projects untouched');
      assert.equal((await ok(client, { op: 'channel.send', channel: 'room:old', text: 'd' })).seq, 4);
    });

    it("another project's channel of the same name is another channel, and its keys see nothing of ours", async () => {
      const { project: other, players: [stranger] } = await projectWithPlayers(s, 1);
      assert.deepEqual(json<Page>(await history(s.app, stranger!.accessToken, 'room:hist')), { items: [], next_cursor: null });
      assert.deepEqual(json<Page>(await history(s.app, other.secretKey, 'room:hist')), { items: [], next_cursor: null });
      assertProblem(await removeMessage(s.app, other.secretKey, 'room:hist', 1), 404, 'not-found');
      const client = await s.node.open(stranger!);
      const joined = await ok(client, { op: 'channel.join', channel: 'room:hist' });
      assert.equal(joined.last_seq, 0);
      assert.deepEqual(joined.members, [{ player_id: stranger!.playerId, username: (joined.members as { username: string }[])[0]!.username }]);
      assert.equal((await ok(client, { op: 'channel.send', channel: 'room:hist', text: 'theirs' })).seq, 1);
      assertProblem(await history(s.app, stranger!.accessToken, dmOf(players[0]!, players[1]!)), 404, 'not-found');
      assert.equal(json<Page>(await history(s.app, project.secretKey, 'room:hist')).items.some((m) => m.text === 'theirs'), false);
    });
  });
}
