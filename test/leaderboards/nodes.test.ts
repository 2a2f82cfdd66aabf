/**
 * Ranks on several nodes over one database: with the memory index each node builds its own from Postgres;
 * with the Redis index (when REDIS_URL is set) all nodes share one, which is rebuilt from Postgres with the
 * same ranks after its keys are deleted.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { buildTestApp, type TestApp } from '../support/app.js';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import { namespaceOf } from '../support/deployments.js';
import type { TestPlayer, TestProject } from '../support/tenancy.js';
import { boardId, client, json, newBoard, projectWithPlayers, type Scores } from './helpers.js';

const REDIS_URL = process.env.REDIS_URL;
const PLAYERS = 15;

type Backend = { name: 'memory' } | { name: 'redis'; url: string };
const backends: Backend[] = [{ name: 'memory' }, ...(REDIS_URL ? [{ name: 'redis' as const, url: REDIS_URL }] : [])];

for (const kind of databaseKinds()) {
  for (const backend of backends) {
    describe(`leaderboard ranks across nodes (${kind.name}, ${backend.name} index)`, () => {
      const prefix = `ggscale-test-${randomBytes(6).toString('hex')}:`;
      const env: Record<string, string> =
        backend.name === 'redis' ? { CACHE_BACKEND: 'redis', REDIS_URL: backend.url, LEADERBOARD_REDIS_KEY_PREFIX: prefix } : {};
      let database: TestDatabase;
      let nodes: TestApp[] = [];
      let project: TestProject;
      let players: TestPlayer[];
      let redis: Redis | undefined;
      const keys = async () => (redis ? redis.keys(`${prefix}*`) : []);

      before(async () => {
        database = await kind.create();
        nodes = [await buildTestApp({ db: database.db, env })];
        ({ project, players } = await projectWithPlayers(nodes[0]!.app, PLAYERS));
        if (backend.name === 'redis') redis = new Redis(backend.url);
      });
      after(async () => {
        for (const node of nodes) await node.close();
        await database.drop();
        if (redis) {
          const left = await keys();
          if (left.length > 0) await redis.del(...left);
          await redis.quit();
        }
      });

      const snapshot = async (node: TestApp, board: string) => {
        const api = client(node.app);
        const items = json<Scores>(await api.scores(project.secretKey, board, '?limit=100')).items.map((x) => [x.rank, x.player_id, x.score]);
        const single = [];
        for (const player of players.slice(0, 5)) single.push(json<{ rank: number }>(await api.record(project.secretKey, board, player.playerId)).rank);
        return { items, single };
      };

      it('every node answers the same ranks, including for writes made on another node', async () => {
        const board = await newBoard(nodes[0]!.app, project, { id: boardId('nodes'), sort: 'asc', operator: 'set' });
        const first = client(nodes[0]!.app);
        for (const [i, player] of players.entries()) json(await first.submit(project.secretKey, board, { player_id: player.playerId, score: (i * 7) % 5, subscore: i % 2 }));
        nodes.push(await buildTestApp({ db: database.db, env }));
        const second = client(nodes[1]!.app);
        const before = await snapshot(nodes[0]!, board);
        assert.deepEqual(await snapshot(nodes[1]!, board), before);
        // A write on the second node: both nodes rank it (memory: the first node learns it from Postgres
        // only on a rebuild, so it reads the record with read repair; the listing checks the second node).
        const moved = json<{ rank: number }>(await second.submit(project.secretKey, board, { player_id: players[3]!.playerId, score: -1 }));
        assert.equal(moved.rank, 1);
        assert.equal(json<{ rank: number }>(await first.record(project.secretKey, board, players[3]!.playerId)).rank, 1);
        assert.deepEqual(await snapshot(nodes[1]!, board), await snapshot(nodes[0]!, board));
      });

      if (backend.name === 'redis') {
        it('names its keys from the context and rebuilds deleted keys from Postgres with the same ranks', async () => {
          const board = await newBoard(nodes[0]!.app, project, { id: boardId('rebuild'), sort: 'desc', operator: 'best' });
          const api = client(nodes[0]!.app);
          for (const [i, player] of players.entries()) json(await api.submit(project.secretKey, board, { player_id: player.playerId, score: (i * 3) % 8 }));
          const before = await snapshot(nodes[0]!, board);
          const named = await keys();
          const namespace = await namespaceOf(database.db);
          assert.ok(
            named.some((key) => key.startsWith(`${prefix}${namespace}:{${project.tenantId}}:${project.projectId}:lb:`) && /:lb:\d+:0$/.test(key)),
            `keys are <root><namespace>:{tenant}:project:lb:<uid>:<period>: ${named.join(', ')}`,
          );
          await redis!.del(...named);
          assert.deepEqual(await snapshot(nodes[0]!, board), before, 'a read rebuilds the index');
          await redis!.del(...(await keys()));
          const submitted = json<{ rank: number }>(await api.submit(project.secretKey, board, { player_id: players[0]!.playerId, score: 100 }));
          assert.equal(submitted.rank, 1, 'a submit rebuilds it too, and answers the right rank');
          await redis!.del(...(await keys()));
          const again = await snapshot(nodes[0]!, board);
          assert.equal(again.items[0]![1], players[0]!.playerId);
          assert.deepEqual(again.items.slice(1), before.items.filter((x) => x[1] !== players[0]!.playerId).map((x, i) => [i + 2, x[1], x[2]]));
        });

        it('drops a deleted board\'s keys', async () => {
          const board = await newBoard(nodes[0]!.app, project, { id: boardId('dropped'), sort: 'desc', operator: 'best' });
          const api = client(nodes[0]!.app);
          const res = json<{ rank: number }>(await api.submit(project.secretKey, board, { player_id: players[0]!.playerId, score: 1 }));
          assert.equal(res.rank, 1);
          const before = await keys();
          assert.equal((await api.call('DELETE', `/v1/leaderboards/${board}`, project.secretKey)).statusCode, 204);
          const after = await keys();
          assert.ok(after.length < before.length, 'the board\'s keys are gone');
        });
      }
    });
  }
}
