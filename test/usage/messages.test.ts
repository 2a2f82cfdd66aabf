/**
 * The messages meter (docs/api/usage.md): frames a client sends that are accepted (not pings, not refused
 * as malformed) and event frames delivered to it, counted for the player's project.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { buildTestApp, type TestApp } from '../support/app.js';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import { createPlayer, createProject, createTenant } from '../support/tenancy.js';
import { connect, listen, realtimeUrl } from '../realtime/helpers.js';
import { recentTotals } from './helpers.js';

for (const kind of databaseKinds()) {
  describe(`usage messages (${kind.name})`, () => {
    let database: TestDatabase;
    let t: TestApp;
    let base: string;

    before(async () => {
      database = await kind.create();
      t = await buildTestApp({ db: database.db, env: { USAGE_FLUSH_SECONDS: '1' } });
      base = await listen(t); // a random loopback port
    });
    after(async () => {
      await t?.close();
      await database?.drop();
    });

    it('counts accepted client frames except pings, and event frames delivered', async () => {
      const project = await createProject(app(), await createTenant(app()));
      const player = await createPlayer(app(), project); // 1 request (the socket's upgrade is not one: its frames are messages)
      const client = await connect(realtimeUrl(base, player.accessToken));
      try {
        await client.welcomed();
        assert.deepEqual(await client.request({ op: 'ping', id: 'p' }), { op: 'pong', id: 'p' }); // not a message
        assert.equal((await client.request('not json')).op, 'error'); // refused: not a message
        assert.equal((await client.request({ op: 'no.such.op', id: 'u' })).op, 'error'); // accepted, then unknown: 1
        const scope = { tenantId: project.tenantId, projectId: project.projectId };
        await t.provisions.realtime.toPlayers(scope, [player.playerId], { op: 'test.event', n: 1 }); // delivered: 1
        await t.provisions.realtime.toPlayers(scope, [player.playerId], { op: 'test.event', n: 2 }); // delivered: 1
        assert.equal((await client.next()).op, 'test.event');
        assert.equal((await client.next()).op, 'test.event');
      } finally {
        await client.close();
      }
      let seen: Record<string, number> = {};
      await eventually(
        async () => {
          // ccu_peak depends on whether a sample fell while the socket was open (test/usage/ccu-peak.test.ts).
          const { ccu_peak: _peak, ...rest } = await recentTotals(app(), project.tenantId, project.projectId);
          seen = rest;
          return isDeepStrictEqual(seen, { mau: 1, messages: 3, requests: 1, server_seconds: 0, storage_bytes: 0 });
        },
        10_000,
        () => `messages: ${JSON.stringify(seen)}`,
      );
    });

    const app = () => t.app;
  });
}
