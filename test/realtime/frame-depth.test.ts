/**
 * Realtime frames follow the REST rule for JSON nesting: a frame nested deeper than 32 levels is answered
 * with a bad-request error frame (echoing its id), never a crash or a disconnect, and the connection goes on.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseRequest } from '../../src/modules/realtime/envelope.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { createPglite, type TestDatabase } from '../support/db.js';
import { createPlayer, createProject, createTenant, type TestPlayer } from '../support/tenancy.js';
import { connect, realtimeUrl, type Client } from './helpers.js';

const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
/** A ping whose `data` makes the frame `depth` levels deep (the frame object is level 1). */
/** Sends a frame and returns the reply to it: the next pong or error (a welcome or an event is skipped). */
async function replyTo(client: Client, frame: unknown): Promise<Record<string, unknown>> {
  client.send(frame);
  for (;;) {
    const next = await client.next();
    if (next.op === 'pong' || next.op === 'error') return next;
  }
}
const pingWithDepth = (depth: number, id?: string) => `{"op":"ping",${id === undefined ? '' : `"id":"${id}",`}"data":${nested(depth - 1)}}`;

describe('realtime frame nesting', () => {
  it('parseRequest accepts 32 levels and refuses 33, keeping the id', () => {
    assert.equal(parseRequest(Buffer.from(pingWithDepth(32, 'a'))).ok, true);
    const refused = parseRequest(Buffer.from(pingWithDepth(33, 'b')));
    assert.equal(refused.ok, false);
    assert.ok(!refused.ok);
    assert.match(refused.message, /nested deeper than 32 levels/);
    assert.equal(refused.id, 'b');
    // Brackets inside strings are text, not nesting.
    assert.equal(parseRequest(Buffer.from(JSON.stringify({ op: 'ping', text: '['.repeat(500) }))).ok, true);
  });

  describe('over a socket', () => {
    let database: TestDatabase;
    let t: TestApp;
    let base: string;
    let player: TestPlayer;
    let client: Client | undefined;

    before(async () => {
      database = await createPglite();
      t = await buildTestApp({ db: database.db, env: { LOG_LEVEL: 'warn', WS_MAX_MESSAGE_BYTES: '1048576' } });
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      base = `http://127.0.0.1:${(t.app.server.address() as { port: number }).port}`;
      player = await createPlayer(t.app, await createProject(t.app, await createTenant(t.app)));
    });
    after(async () => {
      client?.ws.terminate();
      await t.close();
      await database.drop();
    });

    it('answers a frame nested 33 to 100,000 deep with a bad-request error frame, and keeps serving', async () => {
      client = await connect(realtimeUrl(base, player.accessToken));
      for (const depth of [33, 5_000, 100_000]) {
        const error = await replyTo(client, pingWithDepth(depth, `deep-${depth}`));
        assert.equal(error.op, 'error', `depth ${depth}: ${JSON.stringify(error).slice(0, 200)}`);
        assert.equal(error.code, 'bad-request');
        assert.equal(error.id, `deep-${depth}`);
        assert.match(String(error.message), /nested deeper than 32 levels/);
      }
      const unnamed = await replyTo(client, `{"op":"ping","data":${nested(1_000)}}`);
      assert.deepEqual([unnamed.op, unnamed.code, unnamed.id], ['error', 'bad-request', undefined]);
      assert.deepEqual(await replyTo(client, { op: 'ping', id: 'after' }), { op: 'pong', id: 'after' });
      assert.equal(client.isClosed, false);
    });
  });
});
