/**
 * Several ggscale PROCESSES sharing one PostgreSQL and one Redis (when DATABASE_URL and REDIS_URL are set):
 * connection caps exact across nodes, revocations closing sockets on other nodes within 1 s, a SIGKILLed
 * node's slots back within 30 s (the default lease TTL), and a clean shutdown's slots back at once.
 *
 * The server has no key-prefix setting, so the nodes use a random Redis logical database (1-15) to keep
 * their budgets and leases apart from other runs.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { createPostgres, type TestDatabase } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import { freePort, startGgscale, waitForStatus, type RunningProcess } from '../support/process.js';
import { OPERATOR_TOKEN } from '../support/tenancy.js';
import { Client, attempt, connect, realtimeUrl, refused } from './helpers.js';

const DATABASE_URL = process.env.DATABASE_URL;
const REDIS_URL = process.env.REDIS_URL;

interface Node {
  name: string;
  process: RunningProcess;
  url: string;
}

async function call(node: Node, method: string, path: string, credential: string, body?: unknown) {
  const res = await fetch(node.url + path, {
    method,
    headers: { authorization: `Bearer ${credential}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

if (DATABASE_URL && REDIS_URL) {
  describe('realtime across several ggscale processes (PostgreSQL + Redis)', () => {
    let database: TestDatabase;
    const nodes: Node[] = [];
    const clients: Client[] = [];
    let counter = 0;
    const node = (i: number) => nodes[i]!;

    /** A fresh tenant and project (caps set through the operator API) and a player factory. */
    async function project(limits: Record<string, number>) {
      const tenant = await call(node(0), 'POST', '/v1/admin/tenants', OPERATOR_TOKEN, { name: `mn-${process.pid}-${++counter}` });
      assert.equal(tenant.status, 201);
      const created = await call(node(0), 'POST', `/v1/admin/tenants/${String(tenant.body.id)}/projects`, OPERATOR_TOKEN, { name: 'game' });
      const projectId = String(created.body.id);
      assert.equal((await call(node(0), 'PATCH', `/v1/admin/projects/${projectId}`, OPERATOR_TOKEN, { limits })).status, 200);
      const key = await call(node(0), 'POST', `/v1/admin/projects/${projectId}/api-keys`, OPERATOR_TOKEN, { kind: 'publishable', name: 'client' });
      return {
        projectId,
        async player() {
          const res = await call(node(0), 'POST', '/v1/auth/device', String(key.body.key), {
            device_id: `mn-device-${process.pid}-${++counter}-0123456789`,
          });
          assert.equal(res.status, 201);
          return { id: String((res.body.player as { id: string }).id), token: String(res.body.access_token) };
        },
      };
    }

    const open = async (on: Node, token: string) => {
      const client = await connect(realtimeUrl(on.url, token));
      clients.push(client);
      return client;
    };
    const status = async (on: Node, token: string) => (await refused(realtimeUrl(on.url, token))).status;
    /** Tries every 50 ms until the node lets a socket in; resolves with the time it took. */
    const openWithin = (on: Node, token: string, deadlineMs: number) =>
      eventually(
        async () => {
          const outcome = await attempt(realtimeUrl(on.url, token));
          if (outcome instanceof Client) {
            clients.push(outcome);
            return true;
          }
          assert.equal(outcome.status, 429);
          return false;
        },
        deadlineMs,
        'a slot',
        { everyMs: 50 },
      );

    before(async () => {
      database = await createPostgres(DATABASE_URL);
      const redis = new URL(REDIS_URL);
      redis.pathname = `/${randomInt(1, 16)}`;
      for (const name of ['a', 'b', 'c']) {
        const port = await freePort();
        const child = startGgscale(
          ['serve'],
          {
            GGSCALE_ADMIN_TOKEN: OPERATOR_TOKEN,
            // One deployment: one public URL, so one token issuer for every node.
            GGSCALE_PUBLIC_URL: 'http://ggscale.test',
            DATABASE_URL: database.url!,
            CACHE_BACKEND: 'redis',
            REDIS_URL: redis.toString(),
            LOG_LEVEL: 'warn',
          },
          port,
        );
        nodes.push({ name, process: child, url: child.url });
      }
      await Promise.all(nodes.map((n) => waitForStatus(`${n.url}/v1/readyz`, 200, 30_000)));
    });
    after(async () => {
      for (const client of clients) client.ws.terminate();
      for (const n of nodes) if (n.process.child.exitCode === null && n.process.child.signalCode === null) n.process.child.kill('SIGKILL');
      await Promise.all(nodes.map((n) => n.process.exited));
      await database?.drop();
    });

    it('holds a player and a tenant to their caps exactly, counted across all nodes', async () => {
      const game = await project({ ws_max_connections_per_player: 3, ws_max_connections_per_tenant: 5 });
      const p = await game.player();
      const held = [await open(node(0), p.token), await open(node(1), p.token), await open(node(2), p.token)];
      for (const n of nodes) assert.equal(await status(n, p.token), 429, `player cap on node ${n.name}`);
      // Freed at once, not after the lease TTL: node b releases as soon as it sees the socket end, a few
      // milliseconds after the client does (another process), so allow a short deadline.
      await held[1]!.close();
      await openWithin(node(2), p.token, 1_000);
      const q = await game.player();
      await open(node(0), q.token);
      await open(node(1), q.token);
      const r = await game.player();
      for (const n of nodes) assert.equal(await status(n, r.token), 429, `tenant cap on node ${n.name}`);
      await Promise.all(clients.splice(0).map((c) => c.close()));
    });

    it('closes a socket on one node within 1 s when its session logs out on another, and a banned player\'s everywhere', async () => {
      const game = await project({});
      const leaving = await game.player();
      const socket = await open(node(0), leaving.token);
      assert.equal((await call(node(2), 'POST', '/v1/auth/logout', leaving.token)).status, 204);
      assert.equal((await socket.closedWithin(1_000)).code, 4001);

      const banned = await game.player();
      const sockets = [await open(node(0), banned.token), await open(node(1), banned.token)];
      const res = await call(node(2), 'POST', `/v1/admin/projects/${game.projectId}/players/${banned.id}/ban`, OPERATOR_TOKEN);
      assert.equal(res.status, 204);
      for (const s of sockets) assert.equal((await s.closedWithin(1_000)).code, 4001);
      await Promise.all(clients.splice(0).map((c) => c.close()));
    });

    it('gives a clean shutdown\'s slots back at once, after 1012 to its clients', async () => {
      const game = await project({ ws_max_connections_per_player: 3, ws_max_connections_per_tenant: 3 });
      const p = await game.player();
      const onB = [await open(node(1), p.token), await open(node(1), p.token)];
      await open(node(0), p.token);
      assert.equal(await status(node(0), p.token), 429);
      node(1).process.child.kill('SIGTERM');
      for (const s of onB) assert.equal((await s.closedWithin(5_000)).code, 1012);
      assert.equal(await node(1).process.exited, 0);
      // No waiting for lease expiry: both slots are free the moment the node is gone.
      await open(node(0), p.token);
      await open(node(2), p.token);
      assert.equal(await status(node(0), p.token), 429);
      await Promise.all(clients.splice(0).map((c) => c.close()));
    });

    it('gives a SIGKILLed node\'s slots back within 30 s', async (t) => {
      const game = await project({ ws_max_connections_per_player: 4, ws_max_connections_per_tenant: 4 });
      const p = await game.player();
      for (let i = 0; i < 3; i++) await open(node(2), p.token);
      await open(node(0), p.token);
      assert.equal(await status(node(0), p.token), 429);
      node(2).process.child.kill('SIGKILL');
      await node(2).process.exited;
      // Polled every 250 ms (not faster: each refused attempt also costs the player's request budget).
      let reopened = 0;
      const ms = await eventually(
        async () => {
          for (;;) {
            const outcome = await attempt(realtimeUrl(node(0).url, p.token));
            if (!(outcome instanceof Client)) {
              assert.equal(outcome.status, 429);
              return false;
            }
            clients.push(outcome);
            if (++reopened === 3) return true;
          }
        },
        30_000,
        () => `the killed node's 3 slots back (${reopened} were)`,
        { everyMs: 250 },
      );
      assert.ok(ms <= 30_000, `slots back after ${ms} ms`);
      t.diagnostic(`slots of the killed node back after ${ms} ms`);
      assert.equal(await status(node(0), p.token), 429, 'and no more than the cap');
    });
  });
}
