/**
 * Regression (found by the bad-input fuzzer's socket pass): a WebSocket handshake ws refuses (a bad
 * Sec-WebSocket-Key or -Version, an Upgrade other than websocket, a malformed subprotocol list) was answered
 * by ws with a bare text/html 400 after auth had passed. Every refusal of /v1/realtime is problem JSON before
 * the upgrade; a good handshake still upgrades.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp, type TestApp } from '../support/app.js';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import { createPlayer, createProject, createTenant, type TestPlayer } from '../support/tenancy.js';
import { rawRequest } from '../reliability/support/raw-http.js';

const GOOD = { upgrade: 'websocket', key: 'dGhlIHNhbXBsZSBub25jZQ==', version: '13' };

for (const kind of databaseKinds()) {
  describe(`realtime handshake refusals (${kind.name})`, () => {
    let database: TestDatabase;
    let t: TestApp;
    let port: number;
    let player: TestPlayer;

    before(async () => {
      database = await kind.create();
      t = await buildTestApp({ db: database.db, env: { FLEET_LOCAL_BUFFER: '0', LOG_LEVEL: 'warn' } });
      player = await createPlayer(t.app, await createProject(t.app, await createTenant(t.app)));
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      port = (t.app.server.address() as { port: number }).port;
    });
    after(async () => {
      await t.close();
      await database.drop();
    });

    const handshake = (fields: { upgrade: string; key: string; version: string; protocol?: string; requestId?: string }) => {
      const lines = [
        'GET /v1/realtime HTTP/1.1',
        'Host: x',
        `Authorization: Bearer ${player.accessToken}`,
        'Connection: Upgrade',
        `Upgrade: ${fields.upgrade}`,
        `Sec-WebSocket-Key: ${fields.key}`,
        `Sec-WebSocket-Version: ${fields.version}`,
        ...(fields.protocol === undefined ? [] : [`Sec-WebSocket-Protocol: ${fields.protocol}`]),
        ...(fields.requestId === undefined ? [] : [`X-Request-Id: ${fields.requestId}`]),
      ];
      return rawRequest(port, Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), 5_000);
    };

    it('answers a bad handshake with 400 problem JSON', async () => {
      const bad = [
        { ...GOOD, key: 'short' },
        { ...GOOD, key: '' },
        { ...GOOD, version: '12' },
        { ...GOOD, version: 'x' },
        { ...GOOD, upgrade: 'h2c' },
        { ...GOOD, protocol: 'chat,,chat' },
        { ...GOOD, protocol: 'a, a' },
      ];
      for (const fields of bad) {
        const answer = await handshake(fields);
        assert.equal(answer.status, 400, `${JSON.stringify(fields)}: ${answer.body}`);
        assert.match(answer.headers['content-type'] ?? '', /^application\/problem\+json/, JSON.stringify(fields));
        assert.equal((JSON.parse(answer.body) as { type: string }).type, 'https://ggscale.dev/problems/validation');
      }
    });

    it('still upgrades a good handshake', async () => {
      assert.equal((await handshake(GOOD)).status, 101);
      assert.equal((await handshake({ ...GOOD, protocol: 'json, v1.ggscale' })).status, 101);
    });

    it('the 101 carries the request id like every other answer (a safe one echoed, else a fresh one)', async () => {
      const echoed = await handshake({ ...GOOD, requestId: 'client-trace-42' });
      assert.equal(echoed.status, 101);
      assert.equal(echoed.headers['x-request-id'], 'client-trace-42');
      const fresh = await handshake(GOOD);
      assert.match(fresh.headers['x-request-id'] ?? '', /^[A-Za-z0-9._:-]{8,128}$/);
    });
  });
}
