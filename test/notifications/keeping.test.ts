/**
 * What is kept: collapse_key replaces, the per-player cap (a project's override) drops the oldest at the
 * send, and the retention purge deletes what is past each project's retention.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { databaseKinds } from '../support/db.js';
import { operator, type TestPlayer, type TestProject } from '../support/tenancy.js';
import { NotificationRetentionPurge } from '../../src/modules/notifications/retention-purge.js';
import { createLogger } from '../../src/internal/telemetry/logger.js';
import { LogCapture } from '../support/app.js';
import { json, listAll, projectWithPlayers, send, sent, startSuite, storedCount, type SendJson, type Suite } from './helpers.js';

const quietLogger = createLogger({ level: 'warn', destination: new LogCapture() });

for (const kind of databaseKinds()) {
  describe(`notifications kept (${kind.name})`, () => {
    let s: Suite;
    let project: TestProject;
    let players: TestPlayer[];

    before(async () => {
      s = await startSuite(kind);
      ({ project, players } = await projectWithPlayers(s.app, 4));
    });
    after(async () => s?.close());

    async function setLimits(target: TestProject, limits: Record<string, number | null>): Promise<void> {
      const res = await operator(s.app, 'PATCH', `/v1/admin/projects/${target.projectId}`, { limits });
      assert.equal(res.statusCode, 200, res.body);
    }

    it('collapse_key replaces the stored notification with the same code and key, as a newer one', async () => {
      const player = players[0]!;
      const other = await sent(s.app, project, { player_ids: [player.playerId], code: 'chat.unread', subject: 'other key', collapse_key: 'room-2' });
      const first = await sent(s.app, project, { player_ids: [player.playerId], code: 'chat.unread', subject: '1 unread', collapse_key: 'room-1' });
      const otherCode = await sent(s.app, project, { player_ids: [player.playerId], code: 'chat.mention', subject: 'same key, other code', collapse_key: 'room-1' });
      const plain = await sent(s.app, project, { player_ids: [player.playerId], code: 'chat.unread', subject: 'no key' });
      const second = await sent(s.app, project, { player_ids: [player.playerId], code: 'chat.unread', subject: '2 unread', content: { n: 2 }, collapse_key: 'room-1' });
      const items = await listAll(s.app, player);
      assert.deepEqual(
        items.map((item) => item.subject),
        ['other key', 'same key, other code', 'no key', '2 unread'],
      );
      const replacing = items.at(-1)!;
      assert.equal(replacing.id, second.items[0]!.id);
      assert.notEqual(replacing.id, first.items[0]!.id);
      assert.deepEqual(replacing.content, { n: 2 });
      assert.equal(replacing.collapse_key, 'room-1');
      assert.deepEqual(
        items.map((item) => item.id),
        [other, otherCode, plain, second].map((answer) => answer.items[0]!.id),
      );
    });

    it('concurrent sends with one collapse_key to one player all succeed and leave one notification', async () => {
      const player = players[1]!;
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          send(s.app, project.secretKey, { player_ids: [player.playerId], code: 'race', subject: `try ${i}`, content: {}, collapse_key: 'one' }),
        ),
      );
      for (const res of results) assert.equal(res.statusCode, 201, res.body);
      const items = (await listAll(s.app, player)).filter((item) => item.code === 'race');
      assert.equal(items.length, 1);
      // The one kept is the last committed: the greatest id handed out.
      const ids = results.map((res) => BigInt(res.json<SendJson>().items[0]!.id));
      assert.equal(items[0]!.id, String(ids.reduce((a, b) => (a > b ? a : b))));
    });

    it("keeps at most the project's notifications_max_per_player per player, dropping the oldest", async () => {
      const capped = await projectWithPlayers(s.app, 2);
      await setLimits(capped.project, { notifications_max_per_player: 3 });
      const [a, b] = capped.players as [TestPlayer, TestPlayer];
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await sent(s.app, capped.project, { player_ids: [a.playerId], subject: `a${i}` })).items[0]!.id);
      assert.deepEqual((await listAll(s.app, a)).map((item) => item.id), ids.slice(2));
      // b is under the cap: the sends to a took nothing of b's.
      await sent(s.app, capped.project, { player_ids: [b.playerId], subject: 'b0' });
      // One send to both: a drops one more, b keeps both.
      const both = await sent(s.app, capped.project, { player_ids: [a.playerId, b.playerId], subject: 'both' });
      assert.deepEqual((await listAll(s.app, a)).map((item) => item.subject), ['a3', 'a4', 'both']);
      assert.deepEqual((await listAll(s.app, b)).map((item) => item.subject), ['b0', 'both']);
      assert.equal(both.items.length, 2);
      // The default project is not capped by another project's override.
      for (let i = 0; i < 4; i++) await sent(s.app, project, { player_ids: [players[2]!.playerId], subject: `free${i}` });
      assert.equal((await listAll(s.app, players[2]!)).length, 4);
      // The override bounds are the variable's: 0 is refused.
      const refused = await operator(s.app, 'PATCH', `/v1/admin/projects/${capped.project.projectId}`, { limits: { notifications_max_per_player: 0 } });
      assert.equal(refused.statusCode, 400, refused.body);
    });

    it("the retention purge deletes what is past each project's retention, in batches, and nothing else", async () => {
      const short = await projectWithPlayers(s.app, 1);
      await setLimits(short.project, { notification_retention_days: 2 });
      const player = players[3]!;
      const keep = await sent(s.app, project, { player_ids: [player.playerId], subject: 'recent' });
      const old = await sent(s.app, project, { player_ids: [player.playerId], subject: 'old' });
      await sent(s.app, short.project, { player_ids: [short.players[0]!.playerId], subject: 'three days' });
      await sent(s.app, short.project, { player_ids: [short.players[0]!.playerId], subject: 'one day' });
      // Age rows straight in the table (operator path).
      const age = (subject: string, days: number) =>
        s.database.db.operator('test.age', (tx) =>
          tx.query(`update notifications set created_at = now() - make_interval(days => $2) where subject = $1`, [subject, days]),
        );
      await age('old', 91);
      await age('recent', 89);
      await age('three days', 3);
      await age('one day', 1);

      const purge = new NotificationRetentionPurge(s.database.db, quietLogger, { intervalMs: 0, retentionDays: 90, batchSize: 1, batchesPerPass: 10 });
      assert.equal(await purge.pass(), 2);
      const left = (await listAll(s.app, player)).map((item) => item.id);
      assert.ok(left.includes(keep.items[0]!.id) && !left.includes(old.items[0]!.id), 'the 91-day-old one went, the 89-day-old one stayed');
      assert.deepEqual((await listAll(s.app, short.players[0]!)).map((item) => item.subject), ['one day']);
      assert.equal(await purge.pass(), 0);
      assert.equal(await storedCount(s.database, short.project.projectId), 1);
    });

    it('a pass stops after batchesPerPass batches and the next pass goes on', async () => {
      const many = await projectWithPlayers(s.app, 1);
      const answer = json<SendJson>(
        await send(s.app, many.project.secretKey, { player_ids: [many.players[0]!.playerId], code: 'x', subject: 'a', content: {} }),
        201,
      );
      for (let i = 0; i < 4; i++) await sent(s.app, many.project, { player_ids: [many.players[0]!.playerId], subject: `old ${i}` });
      await s.database.db.operator('test.age', (tx) =>
        tx.query(`update notifications set created_at = now() - interval '100 days' where project_id = $1`, [many.project.projectId]),
      );
      const purge = new NotificationRetentionPurge(s.database.db, quietLogger, { intervalMs: 0, retentionDays: 90, batchSize: 2, batchesPerPass: 2 });
      assert.equal(await purge.pass(), 4);
      assert.equal(await purge.pass(), 1);
      assert.equal(await storedCount(s.database, many.project.projectId), 0);
      assert.ok(answer.items[0]);
    });
  });
}
