/**
 * Bad input and limits: names, sizes (413 while streaming, the server stays healthy), quotas (race-free),
 * conditional-header syntax, owner ids, media types. Every case is a 4xx that changes nothing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError } from '../../src/internal/config/parse.js';
import { loadStorageConfig } from '../../src/modules/storage/config.js';
import { databaseKinds } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import { createPlayer, createProject, createTenant, type TestPlayer, type TestProject } from '../support/tenancy.js';
import { assertProblem, deleteObject, getObject, json, listObjects, putObject, startSuite, type StorageSuite } from './helpers.js';

const MAX_OBJECT = 1024;
const MAX_OBJECTS = 3;
const MAX_BYTES = 2500;

describe('storage config', () => {
  it('has the documented defaults and names the variable of a bad value', () => {
    assert.deepEqual(loadStorageConfig({}), { maxObjectBytes: 1_048_576, maxObjectsPerOwner: 1000, maxBytesPerOwner: 64 * 1_048_576 });
    for (const name of ['STORAGE_MAX_OBJECT_BYTES', 'STORAGE_MAX_OBJECTS_PER_OWNER', 'STORAGE_MAX_BYTES_PER_OWNER']) {
      assert.throws(() => loadStorageConfig({ [name]: 'lots' }), (error: unknown) => error instanceof ConfigError && error.variable === name);
      assert.throws(() => loadStorageConfig({ [name]: '-1' }), (error: unknown) => error instanceof ConfigError && error.variable === name);
    }
    assert.throws(() => loadStorageConfig({ STORAGE_MAX_OBJECT_BYTES: '0' }), ConfigError);
  });
});

/** Sends a request over a real socket and resolves with the response (the request may still be open). */
function openUpload(port: number, token: string, path: string, headers: Record<string, string>) {
  const req = request({ host: '127.0.0.1', port, method: 'PUT', path, headers: { authorization: `Bearer ${token}`, ...headers } });
  req.on('error', () => undefined); // the server may close while we still write: expected after a 413
  const response = new Promise<{ status: number; body: string; connection?: string }>((resolve) => {
    req.once('response', (res: IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, connection: res.headers.connection }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, body, connection: res.headers.connection }));
    });
  });
  return { req, response };
}

for (const kind of databaseKinds()) {
  describe(`storage limits and bad input (${kind.name})`, () => {
    let s: StorageSuite;
    let project: TestProject;
    let player: TestPlayer;
    let port: number;

    before(async () => {
      s = await startSuite(kind, {
        STORAGE_MAX_OBJECT_BYTES: String(MAX_OBJECT),
        STORAGE_MAX_OBJECTS_PER_OWNER: String(MAX_OBJECTS),
        STORAGE_MAX_BYTES_PER_OWNER: String(MAX_BYTES),
      });
      project = await createProject(s.t.app, await createTenant(s.t.app));
      player = await createPlayer(s.t.app, project);
      await s.t.app.listen({ port: 0, host: '127.0.0.1' });
      port = (s.t.app.server.address() as AddressInfo).port;
      assert.equal((await putObject(s.t.app, player.accessToken, 'keep/original', 'original')).statusCode, 201);
    });
    after(async () => s?.close());

    async function assertOriginalIntact(): Promise<void> {
      const res = await getObject(s.t.app, player.accessToken, 'keep/original');
      assert.equal(res.body, 'original');
    }

    it('rejects collection and key names outside 1–128 of [A-Za-z0-9._-] with 400', async () => {
      const bad = ['a%20b', 'a%2Fb', 'x'.repeat(129), '%C3%A9', 'a%00b', 'a*b', 'a%2Bb', 'a~b', 'a:b'];
      for (const name of bad) {
        assertProblem(await putObject(s.t.app, player.accessToken, `ok/${name}`, 'x'), 400, 'validation', `key ${name}`);
        assertProblem(await putObject(s.t.app, player.accessToken, `${name}/ok`, 'x'), 400, 'validation', `collection ${name}`);
        assertProblem(await getObject(s.t.app, player.accessToken, `ok/${name}`), 400, 'validation', `GET key ${name}`);
        assertProblem(await deleteObject(s.t.app, player.accessToken, `${name}/ok`), 400, 'validation', `DELETE ${name}`);
      }
      // Not percent-decodable: Fastify's router refuses the URL itself (400, though not as problem JSON).
      assert.equal((await putObject(s.t.app, player.accessToken, 'ok/%FF', 'x')).statusCode, 400);
      const empty = await putObject(s.t.app, player.accessToken, 'ok/', 'x');
      assert.ok(empty.statusCode >= 400 && empty.statusCode < 500, `empty key: ${empty.statusCode}`);
      // The longest and every allowed character are fine.
      const longest = 'Az09._-'.repeat(18).slice(0, 128);
      assert.equal((await putObject(s.t.app, player.accessToken, `${longest}/${longest}`, 'x')).statusCode, 201);
      assert.equal((await deleteObject(s.t.app, player.accessToken, `${longest}/${longest}`)).statusCode, 204);
    });

    it('rejects bad owner ids, ACLs and unknown query parameters with 400', async () => {
      const owners = ['0', '-1', 'abc', '1'.repeat(19), '99999999999999999999', '1e3', '%201', '01', 'project1', '', '1.5'];
      for (const owner of owners) {
        assertProblem(await getObject(s.t.app, project.secretKey, `keep/original?owner=${owner}`), 400, 'validation', `owner ${owner}`);
        assertProblem(await putObject(s.t.app, project.secretKey, `keep/original?owner=${owner}`, 'x'), 400, 'validation', `owner ${owner}`);
        assertProblem(await listObjects(s.t.app, project.secretKey, `keep?owner=${owner}`), 400, 'validation', `owner ${owner}`);
      }
      assertProblem(await getObject(s.t.app, project.secretKey, `keep/original?owner=1&owner=2`), 400, 'validation');
      for (const query of ['acl=public', 'acl=', 'acl=private&acl=public-read', 'extra=1']) {
        assertProblem(await putObject(s.t.app, project.secretKey, `keep/x?${query}`, 'x'), 400, 'validation', query);
      }
      assertProblem(await getObject(s.t.app, player.accessToken, 'keep/original?acl=private'), 400, 'validation');
      await assertOriginalIntact();
    });

    it('rejects malformed conditional headers with 400 and changes nothing', async () => {
      const cases: [string, Record<string, string>][] = [
        ['PUT', { 'if-match': 'abc' }],
        ['PUT', { 'if-match': '"abc' }],
        ['PUT', { 'if-match': '"a" "b"' }],
        ['PUT', { 'if-match': '"a", "b"' }],
        ['PUT', { 'if-match': '' }],
        ['PUT', { 'if-match': `"${'a'.repeat(1100)}"` }],
        ['PUT', { 'if-none-match': '"abc"' }],
        ['PUT', { 'if-none-match': 'W/"abc"' }],
        ['PUT', { 'if-match': '*', 'if-none-match': '*' }],
        ['DELETE', { 'if-match': 'abc' }],
        ['DELETE', { 'if-none-match': '*' }],
        ['GET', { 'if-none-match': 'abc' }],
        ['GET', { 'if-none-match': '"a" junk' }],
      ];
      for (const [method, headers] of cases) {
        const res =
          method === 'PUT'
            ? await putObject(s.t.app, player.accessToken, 'keep/original', 'changed', headers)
            : method === 'DELETE'
              ? await deleteObject(s.t.app, player.accessToken, 'keep/original', headers)
              : await getObject(s.t.app, player.accessToken, 'keep/original', headers);
        assertProblem(res, 400, 'validation', `${method} ${JSON.stringify(headers)}`);
      }
      await assertOriginalIntact();
    });

    it('rejects a Content-Type that is not a media type with 415', async () => {
      for (const type of ['not a type', 'text/', '/plain', 'text/plain; charset="open', 'text/plain;;', `text/${'x'.repeat(300)}`, 'a/b\tc']) {
        const res = await putObject(s.t.app, player.accessToken, 'keep/original', 'changed', { 'content-type': type });
        assertProblem(res, 415, 'unsupported-media-type', type);
      }
      await assertOriginalIntact();
      const params = await putObject(s.t.app, player.accessToken, 'keep/typed', 'x', { 'content-type': 'application/vnd.game+json; version="2"; q=1' });
      assert.equal(params.statusCode, 201, params.body);
      assert.equal(json(params).content_type, 'application/vnd.game+json; version="2"; q=1');
    });

    it('accepts a body of exactly STORAGE_MAX_OBJECT_BYTES; one byte more is 413 payload-too-large', async () => {
      assert.equal((await putObject(s.t.app, player.accessToken, 'sizes/max', Buffer.alloc(MAX_OBJECT, 7))).statusCode, 201);
      assertProblem(await putObject(s.t.app, player.accessToken, 'sizes/over', Buffer.alloc(MAX_OBJECT + 1, 7)), 413, 'payload-too-large');
      assertProblem(await putObject(s.t.app, player.accessToken, 'keep/original', Buffer.alloc(MAX_OBJECT * 50, 7)), 413, 'payload-too-large');
      assertProblem(await getObject(s.t.app, player.accessToken, 'sizes/over'), 404, 'not-found');
      await assertOriginalIntact();
      assert.equal((await deleteObject(s.t.app, player.accessToken, 'sizes/max')).statusCode, 204);
    });

    it('over a real socket: a declared Content-Length over the limit is 413 before any byte of the body', async () => {
      const { req, response } = openUpload(port, player.accessToken, '/v1/storage/sizes/declared', {
        'content-type': 'application/octet-stream',
        'content-length': String(100 * 1024 * 1024),
      });
      req.flushHeaders();
      const res = await response; // no body byte was ever written
      req.destroy();
      assert.equal(res.status, 413);
      assert.match(res.body, /payload-too-large/);
      assert.equal(res.connection, 'close');
    });

    it('over a real socket: a chunked upload is refused as soon as it passes the limit, while it is still streaming', async () => {
      const { req, response } = openUpload(port, player.accessToken, '/v1/storage/sizes/streamed', { 'content-type': 'application/octet-stream' });
      // Chunked (no Content-Length): only counting can catch it. Send a bit more than the limit and never end.
      req.write(Buffer.alloc(MAX_OBJECT / 2, 1));
      req.write(Buffer.alloc(MAX_OBJECT / 2 + 10, 1));
      const res = await response;
      assert.equal(req.writableEnded, false, 'the answer came before the upload ended');
      req.destroy();
      assert.equal(res.status, 413);
      assert.match(res.body, /payload-too-large/);
      assertProblem(await getObject(s.t.app, player.accessToken, 'sizes/streamed'), 404, 'not-found');
    });

    it('over a real socket: a 32 MiB upload is cut off with 413 and the server stays healthy', async () => {
      const before = s.t.logs.records().length;
      const { req, response } = openUpload(port, player.accessToken, '/v1/storage/sizes/flood', { 'content-type': 'application/octet-stream' });
      // The server answers 413 and closes: a client still writing may see the answer or only the reset.
      const ended = new Promise<void>((resolve) => req.once('close', () => resolve()));
      let outcome = 'pending';
      void response.then((res) => (outcome = String(res.status)));
      void ended.then(() => (outcome = outcome === 'pending' ? 'closed' : outcome));
      const chunk = Buffer.alloc(64 * 1024, 3);
      let sent = 0;
      while (outcome === 'pending' && sent < 32 * 1024 * 1024) {
        sent += chunk.length;
        if (!req.write(chunk)) await new Promise((resolve) => setTimeout(resolve, 1));
      }
      req.destroy();
      await ended;
      assert.ok(outcome === '413' || outcome === 'closed', `outcome ${outcome}`);
      assert.ok(sent < 32 * 1024 * 1024, 'the server read the whole upload');
      // The server did answer 413 (its request log says so), read no more, and serves on.
      await eventually(
        async () => s.t.logs.records().slice(before).some((line) => line.route === '/v1/storage/:collection/:key' && line.status === 413),
        5000,
        'the 413 is logged',
      );
      const health = await fetch(`http://127.0.0.1:${port}/v1/healthz`);
      assert.equal(health.status, 200);
      const put = await fetch(`http://127.0.0.1:${port}/v1/storage/sizes/after`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${player.accessToken}`, 'content-type': 'text/plain' },
        body: 'still fine',
      });
      assert.equal(put.status, 201);
      assert.equal((await deleteObject(s.t.app, player.accessToken, 'sizes/after')).statusCode, 204);
      assertProblem(await getObject(s.t.app, player.accessToken, 'sizes/flood'), 404, 'not-found');
    });

    it('over a real socket: a GET answers the stored bytes', async () => {
      const res = await fetch(`http://127.0.0.1:${port}/v1/storage/keep/original`, { headers: { authorization: `Bearer ${player.accessToken}` } });
      assert.equal(res.status, 200);
      assert.equal(await res.text(), 'original');
    });

    it('caps the objects per owner (413 quota-exceeded); replacing is not a new object; deleting frees a slot', async () => {
      const owner = await createPlayer(s.t.app, project);
      for (const key of ['a', 'b', 'c']) assert.equal((await putObject(s.t.app, owner.accessToken, `q/${key}`, 'tiny')).statusCode, 201);
      const over = await putObject(s.t.app, owner.accessToken, 'q/d', 'tiny');
      assert.match(assertProblem(over, 413, 'quota-exceeded'), /objects/);
      assertProblem(await getObject(s.t.app, owner.accessToken, 'q/d'), 404, 'not-found');
      assert.equal((await putObject(s.t.app, owner.accessToken, 'q/a', 'replaced')).statusCode, 200);
      assert.equal((await putObject(s.t.app, owner.accessToken, 'other/a', 'x')).statusCode, 413, 'the cap spans collections');
      assert.equal((await deleteObject(s.t.app, owner.accessToken, 'q/b')).statusCode, 204);
      assert.equal((await putObject(s.t.app, owner.accessToken, 'q/d', 'tiny')).statusCode, 201);
      // Another owner has its own quota; so has the project.
      const other = await createPlayer(s.t.app, project);
      assert.equal((await putObject(s.t.app, other.accessToken, 'q/a', 'x')).statusCode, 201);
      const projectOwned = await createProject(s.t.app, project.tenantId);
      for (const key of ['a', 'b', 'c']) assert.equal((await putObject(s.t.app, projectOwned.secretKey, `q/${key}`, 'x')).statusCode, 201);
      assertProblem(await putObject(s.t.app, projectOwned.secretKey, 'q/d', 'x'), 413, 'quota-exceeded');
    });

    it('caps the bytes per owner (413 quota-exceeded), counting replacements by their new size', async () => {
      const owner = await createPlayer(s.t.app, project);
      const put = (key: string, size: number) => putObject(s.t.app, owner.accessToken, `b/${key}`, Buffer.alloc(size, 1));
      assert.equal((await put('x', 1000)).statusCode, 201);
      assert.equal((await put('y', 1000)).statusCode, 201);
      assert.match(assertProblem(await put('z', 501), 413, 'quota-exceeded'), /bytes/);
      assert.equal((await put('z', 500)).statusCode, 201); // exactly MAX_BYTES
      assertProblem(await put('x', 1001), 413, 'quota-exceeded');
      assert.equal((await getObject(s.t.app, owner.accessToken, 'b/x')).rawPayload.length, 1000, 'a refused write changes nothing');
      assertProblem(await put('z', 1024), 413, 'quota-exceeded');
      // Shrinking x frees 990 bytes: now z may grow.
      assert.equal((await put('x', 10)).statusCode, 200);
      assert.equal((await put('z', 1024)).statusCode, 200);
    });

    it('enforces the quotas under concurrency: of 12 parallel creates with room for 3, exactly 3 succeed', async () => {
      const owner = await createPlayer(s.t.app, project);
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) => putObject(s.t.app, owner.accessToken, `burst/k${i}`, Buffer.alloc(10, i))),
      );
      const codes = results.map((res) => res.statusCode);
      assert.equal(codes.filter((code) => code === 201).length, MAX_OBJECTS, codes.join(','));
      assert.equal(codes.filter((code) => code === 413).length, 12 - MAX_OBJECTS, codes.join(','));
      const listed = await listObjects(s.t.app, owner.accessToken, 'burst');
      assert.equal(listed.json<{ items: unknown[] }>().items.length, MAX_OBJECTS);

      const bytesOwner = await createPlayer(s.t.app, project);
      const big = await Promise.all(Array.from({ length: 3 }, (_, i) => putObject(s.t.app, bytesOwner.accessToken, `burst/b${i}`, Buffer.alloc(1000, i))));
      assert.equal(big.filter((res) => res.statusCode === 201).length, 2, big.map((res) => res.statusCode).join(','));
    });
  });
}
