/**
 * Storage objects (docs/api/storage.md): raw bytes in and out, headers, conditional requests, versions, owners
 * and the public-read ACL, over HTTP with inject(), on every database.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { databaseKinds } from '../support/db.js';
import { createPlayer, createProject, createTenant, type TestPlayer, type TestProject } from '../support/tenancy.js';
import { assertProblem, deleteObject, getObject, headObject, json, listObjects, putObject, startSuite, type StorageSuite } from './helpers.js';

const HEX_VERSION = /^[0-9a-f]{32}$/;

for (const kind of databaseKinds()) {
  describe(`storage objects (${kind.name})`, () => {
    let s: StorageSuite;
    let project: TestProject;
    let alice: TestPlayer;
    let bob: TestPlayer;

    before(async () => {
      s = await startSuite(kind);
      project = await createProject(s.t.app, await createTenant(s.t.app));
      alice = await createPlayer(s.t.app, project);
      bob = await createPlayer(s.t.app, project);
    });
    after(async () => s?.close());

    it('PUT creates (201) then replaces (200), answering the metadata and ETag', async () => {
      const created = await putObject(s.t.app, alice.accessToken, 'saves/slot-1', 'hello', { 'content-type': 'text/plain; charset=utf-8' });
      assert.equal(created.statusCode, 201, created.body);
      const first = json(created);
      assert.deepEqual(Object.keys(first).sort(), ['acl', 'collection', 'content_type', 'key', 'owner', 'size', 'updated_at', 'version']);
      assert.equal(first.collection, 'saves');
      assert.equal(first.key, 'slot-1');
      assert.equal(first.owner, alice.playerId);
      assert.equal(first.size, 5);
      assert.equal(first.content_type, 'text/plain; charset=utf-8');
      assert.equal(first.acl, 'private');
      assert.match(first.version, HEX_VERSION);
      assert.match(first.updated_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
      assert.equal(created.headers.etag, `"${first.version}"`);

      const replaced = await putObject(s.t.app, alice.accessToken, 'saves/slot-1', 'hello again');
      assert.equal(replaced.statusCode, 200, replaced.body);
      assert.notEqual(json(replaced).version, first.version);
      assert.equal(json(replaced).size, 11);
      assert.equal(json(replaced).content_type, 'application/octet-stream');
    });

    it('GET answers the stored bytes and Content-Type with ETag, Last-Modified, nosniff and a sandbox CSP', async () => {
      const bytes = Buffer.from([0, 1, 2, 255, 254, 0x80, 0xc3, 0x28]); // not UTF-8 on purpose
      const put = await putObject(s.t.app, alice.accessToken, 'blobs/raw.bin', bytes, { 'content-type': 'image/png' });
      assert.equal(put.statusCode, 201, put.body);
      const res = await getObject(s.t.app, alice.accessToken, 'blobs/raw.bin');
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.rawPayload, bytes);
      assert.equal(res.headers['content-type'], 'image/png');
      assert.equal(res.headers.etag, `"${json(put).version}"`);
      assert.equal(res.headers['last-modified'], new Date(json(put).updated_at).toUTCString());
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
      assert.equal(res.headers['content-security-policy'], 'sandbox');
      assert.equal(res.headers['content-length'], String(bytes.length));
    });

    it('stores a missing Content-Type as application/octet-stream, and an empty body as size 0', async () => {
      const res = await s.t.app.inject({
        method: 'PUT',
        url: '/v1/storage/blobs/untyped',
        headers: { authorization: `Bearer ${alice.accessToken}` },
        payload: Buffer.from('abc'),
      });
      // inject() adds no content-type for a Buffer payload.
      assert.equal(res.statusCode, 201, res.body);
      assert.equal(json(res).content_type, 'application/octet-stream');
      assert.equal((await getObject(s.t.app, alice.accessToken, 'blobs/untyped')).headers['content-type'], 'application/octet-stream');

      const empty = await s.t.app.inject({ method: 'PUT', url: '/v1/storage/blobs/empty', headers: { authorization: `Bearer ${alice.accessToken}` } });
      assert.equal(empty.statusCode, 201, empty.body);
      assert.equal(json(empty).size, 0);
      const read = await getObject(s.t.app, alice.accessToken, 'blobs/empty');
      assert.equal(read.statusCode, 200);
      assert.equal(read.rawPayload.length, 0);
    });

    it('round-trips an object of exactly the default limit (1 MiB); one byte more is 413', async () => {
      const big = Buffer.alloc(1024 * 1024);
      for (let i = 0; i < big.length; i++) big[i] = (i * 31 + 7) & 0xff;
      const put = await putObject(s.t.app, alice.accessToken, 'blobs/mebibyte', big);
      assert.equal(put.statusCode, 201, put.body);
      assert.equal(json(put).size, big.length);
      const read = await getObject(s.t.app, alice.accessToken, 'blobs/mebibyte');
      assert.ok(read.rawPayload.equals(big), 'the bytes come back unchanged');
      assertProblem(await putObject(s.t.app, alice.accessToken, 'blobs/mebibyte', Buffer.concat([big, Buffer.from([1])])), 413, 'payload-too-large');
      assert.equal((await getObject(s.t.app, alice.accessToken, 'blobs/mebibyte')).headers.etag, put.headers.etag);
      assert.equal((await deleteObject(s.t.app, alice.accessToken, 'blobs/mebibyte')).statusCode, 204);
    });

    it('stores JSON bodies as bytes too (the JSON parser does not apply here)', async () => {
      const text = '{"level": 3, "extra": [1, 2]}';
      const res = await putObject(s.t.app, alice.accessToken, 'saves/json', text, { 'content-type': 'application/json' });
      assert.equal(res.statusCode, 201, res.body);
      const read = await getObject(s.t.app, alice.accessToken, 'saves/json');
      assert.equal(read.body, text);
      assert.equal(read.headers['content-type'], 'application/json');
    });

    it('HEAD answers the GET headers without the body', async () => {
      const put = await putObject(s.t.app, alice.accessToken, 'blobs/head-me', 'x'.repeat(300), { 'content-type': 'text/csv' });
      const res = await headObject(s.t.app, alice.accessToken, 'blobs/head-me');
      assert.equal(res.statusCode, 200);
      assert.equal(res.body, '');
      assert.equal(res.headers['content-length'], '300');
      assert.equal(res.headers['content-type'], 'text/csv');
      assert.equal(res.headers.etag, `"${json(put).version}"`);
      assert.equal(res.headers['content-security-policy'], 'sandbox');
      assert.ok(res.headers['last-modified']);
      assert.equal((await headObject(s.t.app, alice.accessToken, 'blobs/nothing-here')).statusCode, 404);
    });

    it('GET honours If-None-Match (304 for the current version or *, 200 otherwise); missing is 404', async () => {
      const put = await putObject(s.t.app, alice.accessToken, 'saves/cached', 'v1');
      const etag = put.headers.etag as string;
      const same = await getObject(s.t.app, alice.accessToken, 'saves/cached', { 'if-none-match': etag });
      assert.equal(same.statusCode, 304);
      assert.equal(same.body, '');
      assert.equal(same.headers.etag, etag);
      assert.equal((await getObject(s.t.app, alice.accessToken, 'saves/cached', { 'if-none-match': `"${'0'.repeat(32)}", ${etag}` })).statusCode, 304);
      assert.equal((await getObject(s.t.app, alice.accessToken, 'saves/cached', { 'if-none-match': `W/${etag}` })).statusCode, 304);
      assert.equal((await getObject(s.t.app, alice.accessToken, 'saves/cached', { 'if-none-match': '*' })).statusCode, 304);
      assert.equal((await headObject(s.t.app, alice.accessToken, 'saves/cached', { 'if-none-match': etag })).statusCode, 304);
      const other = await getObject(s.t.app, alice.accessToken, 'saves/cached', { 'if-none-match': `"${'0'.repeat(32)}"` });
      assert.equal(other.statusCode, 200);
      assert.equal(other.body, 'v1');
      assertProblem(await getObject(s.t.app, alice.accessToken, 'saves/never-written'), 404, 'not-found');
      assertProblem(await getObject(s.t.app, alice.accessToken, 'saves/never-written', { 'if-none-match': '*' }), 404, 'not-found');
    });

    it('If-Match updates only that version; a missing object or another version is 412 and changes nothing', async () => {
      const put = await putObject(s.t.app, alice.accessToken, 'saves/guarded', 'one');
      const etag = put.headers.etag as string;
      const ok = await putObject(s.t.app, alice.accessToken, 'saves/guarded', 'two', { 'if-match': etag });
      assert.equal(ok.statusCode, 200, ok.body);
      const stale = await putObject(s.t.app, alice.accessToken, 'saves/guarded', 'three', { 'if-match': etag });
      assertProblem(stale, 412, 'precondition-failed');
      assertProblem(await putObject(s.t.app, alice.accessToken, 'saves/guarded', 'w', { 'if-match': `W/${ok.headers.etag as string}` }), 412, 'precondition-failed');
      const read = await getObject(s.t.app, alice.accessToken, 'saves/guarded');
      assert.equal(read.body, 'two');
      assert.equal(read.headers.etag, ok.headers.etag);

      assertProblem(await putObject(s.t.app, alice.accessToken, 'saves/not-there', 'x', { 'if-match': etag }), 412, 'precondition-failed');
      assertProblem(await putObject(s.t.app, alice.accessToken, 'saves/not-there', 'x', { 'if-match': '*' }), 412, 'precondition-failed');
      assertProblem(await getObject(s.t.app, alice.accessToken, 'saves/not-there'), 404, 'not-found');
      assert.equal((await putObject(s.t.app, alice.accessToken, 'saves/guarded', 'any', { 'if-match': '*' })).statusCode, 200);
    });

    it('If-None-Match: * creates only; an existing object is 412 and is left as it was', async () => {
      const created = await putObject(s.t.app, alice.accessToken, 'saves/once', 'first', { 'if-none-match': '*' });
      assert.equal(created.statusCode, 201, created.body);
      assertProblem(await putObject(s.t.app, alice.accessToken, 'saves/once', 'second', { 'if-none-match': '*' }), 412, 'precondition-failed');
      const read = await getObject(s.t.app, alice.accessToken, 'saves/once');
      assert.equal(read.body, 'first');
      assert.equal(read.headers.etag, created.headers.etag);
    });

    it('DELETE is 204, then 404; it honours If-Match', async () => {
      const put = await putObject(s.t.app, alice.accessToken, 'saves/doomed', 'bye');
      assertProblem(await deleteObject(s.t.app, alice.accessToken, 'saves/doomed', { 'if-match': `"${'f'.repeat(32)}"` }), 412, 'precondition-failed');
      assert.equal((await getObject(s.t.app, alice.accessToken, 'saves/doomed')).statusCode, 200);
      const gone = await deleteObject(s.t.app, alice.accessToken, 'saves/doomed', { 'if-match': put.headers.etag as string });
      assert.equal(gone.statusCode, 204);
      assert.equal(gone.body, '');
      assertProblem(await getObject(s.t.app, alice.accessToken, 'saves/doomed'), 404, 'not-found');
      assertProblem(await deleteObject(s.t.app, alice.accessToken, 'saves/doomed'), 404, 'not-found');
      assertProblem(await deleteObject(s.t.app, alice.accessToken, 'saves/doomed', { 'if-match': put.headers.etag as string }), 404, 'not-found');
      assertProblem(await deleteObject(s.t.app, bob.accessToken, 'saves/never'), 404, 'not-found');
    });

    it('versions are unique for all time: a deleted and recreated object never reuses one', async () => {
      const seen = new Set<string>();
      for (let round = 0; round < 5; round++) {
        const put = await putObject(s.t.app, alice.accessToken, 'saves/phoenix', 'same bytes');
        assert.equal(put.statusCode, 201, put.body);
        const version = json(put).version;
        assert.ok(!seen.has(version), 'a version came back');
        seen.add(version);
        assert.equal((await deleteObject(s.t.app, alice.accessToken, 'saves/phoenix')).statusCode, 204);
      }
      const put = await putObject(s.t.app, alice.accessToken, 'saves/phoenix', 'same bytes');
      // The ETag of the deleted object does not match its recreation.
      for (const old of seen) {
        assertProblem(await putObject(s.t.app, alice.accessToken, 'saves/phoenix', 'x', { 'if-match': `"${old}"` }), 412, 'precondition-failed');
        assert.equal((await getObject(s.t.app, alice.accessToken, 'saves/phoenix', { 'if-none-match': `"${old}"` })).statusCode, 200);
      }
      assert.ok(!seen.has(json(put).version));
    });

    it('two players with the same key hold separate objects', async () => {
      assert.equal((await putObject(s.t.app, alice.accessToken, 'profile/main', 'alice')).statusCode, 201);
      assert.equal((await putObject(s.t.app, bob.accessToken, 'profile/main', 'bob')).statusCode, 201);
      assert.equal((await getObject(s.t.app, alice.accessToken, 'profile/main')).body, 'alice');
      assert.equal((await getObject(s.t.app, bob.accessToken, 'profile/main')).body, 'bob');
    });

    it('a secret key owns objects as the project (owner null) or acts for a player with ?owner=', async () => {
      const mine = await putObject(s.t.app, project.secretKey, 'config/game', 'project bytes');
      assert.equal(mine.statusCode, 201, mine.body);
      assert.equal(json(mine).owner, null);
      // One object per (project, owner, collection, key) also when the owner is the project.
      const again = await putObject(s.t.app, project.secretKey, 'config/game', 'project bytes 2');
      assert.equal(again.statusCode, 200, again.body);
      assert.equal((await putObject(s.t.app, project.secretKey, 'config/game?owner=project', 'via the name')).statusCode, 200);
      assert.equal((await getObject(s.t.app, project.secretKey, 'config/game')).body, 'via the name');

      const forAlice = await putObject(s.t.app, project.secretKey, `config/game?owner=${alice.playerId}`, 'alice copy');
      assert.equal(forAlice.statusCode, 201, forAlice.body);
      assert.equal(json(forAlice).owner, alice.playerId);
      assert.equal((await getObject(s.t.app, alice.accessToken, 'config/game')).body, 'alice copy');
      assert.equal((await getObject(s.t.app, project.secretKey, 'config/game')).body, 'via the name');
      // The secret key reads a player's private object.
      assert.equal((await getObject(s.t.app, project.secretKey, `saves/slot-1?owner=${alice.playerId}`)).statusCode, 200);
      assert.equal((await deleteObject(s.t.app, project.secretKey, `config/game?owner=${alice.playerId}`)).statusCode, 204);
      assertProblem(await getObject(s.t.app, alice.accessToken, 'config/game'), 404, 'not-found');
    });

    it('public-read: a secret key marks it; players GET it with ?owner= but never private ones, never list or write others', async () => {
      const pub = await putObject(s.t.app, project.secretKey, `shared/card?owner=${alice.playerId}&acl=public-read`, 'hello bob');
      assert.equal(pub.statusCode, 201, pub.body);
      assert.equal(json(pub).acl, 'public-read');
      const read = await getObject(s.t.app, bob.accessToken, `shared/card?owner=${alice.playerId}`);
      assert.equal(read.statusCode, 200, read.body);
      assert.equal(read.body, 'hello bob');
      assert.equal((await headObject(s.t.app, bob.accessToken, `shared/card?owner=${alice.playerId}`)).statusCode, 200);
      // Without ?owner= bob reads his own (missing) object.
      assertProblem(await getObject(s.t.app, bob.accessToken, 'shared/card'), 404, 'not-found');

      // Project-owned public objects (e.g. game config), named with owner=project.
      await putObject(s.t.app, project.secretKey, 'config/motd?acl=public-read', 'welcome');
      assert.equal((await getObject(s.t.app, bob.accessToken, 'config/motd?owner=project')).body, 'welcome');
      await putObject(s.t.app, project.secretKey, 'config/secret', 'studio only');
      assertProblem(await getObject(s.t.app, bob.accessToken, 'config/secret?owner=project'), 404, 'not-found');

      // Alice's private object: 404 for bob, exactly like a missing one.
      const priv = await getObject(s.t.app, bob.accessToken, `saves/slot-1?owner=${alice.playerId}`);
      const missing = await getObject(s.t.app, bob.accessToken, `saves/no-such?owner=${alice.playerId}`);
      assertProblem(priv, 404, 'not-found');
      assert.equal(priv.json<{ detail: string }>().detail, missing.json<{ detail: string }>().detail);
      assert.equal((await headObject(s.t.app, bob.accessToken, `saves/slot-1?owner=${alice.playerId}`)).statusCode, 404);

      // Not list, not write, not delete another owner's objects.
      assertProblem(await listObjects(s.t.app, bob.accessToken, `shared?owner=${alice.playerId}`), 403, 'forbidden');
      assertProblem(await putObject(s.t.app, bob.accessToken, `shared/card?owner=${alice.playerId}`, 'defaced'), 403, 'forbidden');
      assertProblem(await deleteObject(s.t.app, bob.accessToken, `shared/card?owner=${alice.playerId}`), 403, 'forbidden');
      assertProblem(await putObject(s.t.app, bob.accessToken, 'config/motd?owner=project', 'defaced'), 403, 'forbidden');
      assert.equal((await getObject(s.t.app, bob.accessToken, `shared/card?owner=${alice.playerId}`)).body, 'hello bob');

      // A player may not mark anything public-read; naming itself as the owner is fine.
      assertProblem(await putObject(s.t.app, bob.accessToken, 'shared/mine?acl=public-read', 'x'), 403, 'forbidden');
      assertProblem(await getObject(s.t.app, bob.accessToken, 'shared/mine'), 404, 'not-found');
      assert.equal((await putObject(s.t.app, bob.accessToken, `shared/mine?owner=${bob.playerId}&acl=private`, 'x')).statusCode, 201);

      // Replacing without ?acl= makes it private again.
      assert.equal((await putObject(s.t.app, project.secretKey, `shared/card?owner=${alice.playerId}`, 'private now')).statusCode, 200);
      assertProblem(await getObject(s.t.app, bob.accessToken, `shared/card?owner=${alice.playerId}`), 404, 'not-found');
    });

    it('an owner that is not a player of the project is 404 for every operation', async () => {
      const ghost = '999999999999';
      assertProblem(await putObject(s.t.app, project.secretKey, `saves/x?owner=${ghost}`, 'x'), 404, 'not-found');
      assertProblem(await getObject(s.t.app, project.secretKey, `saves/x?owner=${ghost}`), 404, 'not-found');
      assert.equal((await headObject(s.t.app, project.secretKey, `saves/x?owner=${ghost}`)).statusCode, 404);
      assertProblem(await deleteObject(s.t.app, project.secretKey, `saves/x?owner=${ghost}`), 404, 'not-found');
      assertProblem(await listObjects(s.t.app, project.secretKey, `saves?owner=${ghost}`), 404, 'not-found');
      assertProblem(await getObject(s.t.app, alice.accessToken, `saves/x?owner=${ghost}`), 404, 'not-found');
      // A real player with nothing stored lists as empty, not 404.
      const fresh = await createPlayer(s.t.app, project);
      const empty = await listObjects(s.t.app, project.secretKey, `saves?owner=${fresh.playerId}`);
      assert.equal(empty.statusCode, 200, empty.body);
      assert.deepEqual(empty.json(), { items: [], next_cursor: null });
    });

    it('refuses publishable keys, the operator token and missing credentials', async () => {
      assertProblem(await getObject(s.t.app, project.publishableKey, 'saves/slot-1'), 403, 'forbidden');
      assertProblem(await putObject(s.t.app, project.publishableKey, 'saves/slot-1', 'x'), 403, 'forbidden');
      assertProblem(await listObjects(s.t.app, project.publishableKey, 'saves'), 403, 'forbidden');
      assertProblem(await deleteObject(s.t.app, project.publishableKey, 'saves/slot-1'), 403, 'forbidden');
      assertProblem(await getObject(s.t.app, 'test-operator-token-0123456789abcdef', 'saves/slot-1'), 403, 'forbidden');
      assertProblem(await s.t.app.inject({ method: 'GET', url: '/v1/storage/saves/slot-1' }), 401, 'unauthorized');
      assert.equal((await getObject(s.t.app, alice.accessToken, 'saves/slot-1')).statusCode, 200);
    });

    it('20 concurrent If-Match PUTs on one version: exactly one wins, the others are 412', async () => {
      const put = await putObject(s.t.app, alice.accessToken, 'race/counter', 'start');
      const etag = put.headers.etag as string;
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => putObject(s.t.app, alice.accessToken, 'race/counter', `writer-${i}`, { 'if-match': etag })),
      );
      const winners = results.filter((res) => res.statusCode === 200);
      const losers = results.filter((res) => res.statusCode === 412);
      assert.equal(winners.length, 1, results.map((res) => res.statusCode).join(','));
      assert.equal(losers.length, 19);
      const read = await getObject(s.t.app, alice.accessToken, 'race/counter');
      assert.equal(read.headers.etag, winners[0]!.headers.etag);
      assert.equal(read.body, `writer-${results.indexOf(winners[0]!)}`);

      // The same holds for If-None-Match: * creates.
      const creates = await Promise.all(
        Array.from({ length: 20 }, (_, i) => putObject(s.t.app, project.secretKey, 'race/create-once', `creator-${i}`, { 'if-none-match': '*' })),
      );
      assert.equal(creates.filter((res) => res.statusCode === 201).length, 1);
      assert.equal(creates.filter((res) => res.statusCode === 412).length, 19);
    });
  });
}
