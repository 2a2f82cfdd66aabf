/** Listing one owner's collection: byte-wise key order, keyset pagination, literal prefixes, bad input. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { databaseKinds } from '../support/db.js';
import { createPlayer, createProject, createTenant, type TestPlayer, type TestProject } from '../support/tenancy.js';
import { assertProblem, listObjects, putObject, startSuite, type PageJson, type StorageSuite } from './helpers.js';

// Byte order: digits < upper case < '_' < lower case; '-' and '.' come before digits.
const KEYS = ['a_1', 'aX1', 'ab', 'a.b', 'a-b', 'B', 'b', '_x', 'Z9', '0', 'a_b_c', 'abc', 'a'];
const byteOrder = (keys: string[]) => [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));

for (const kind of databaseKinds()) {
  describe(`storage listing (${kind.name})`, () => {
    let s: StorageSuite;
    let project: TestProject;
    let player: TestPlayer;

    before(async () => {
      s = await startSuite(kind);
      project = await createProject(s.t.app, await createTenant(s.t.app));
      player = await createPlayer(s.t.app, project);
      for (const key of KEYS) {
        const res = await putObject(s.t.app, player.accessToken, `items/${key}`, `body of ${key}`, { 'content-type': 'text/plain' });
        assert.equal(res.statusCode, 201, res.body);
      }
      // Other collections and owners stay out of the listing.
      await putObject(s.t.app, player.accessToken, 'other/a', 'x');
      await putObject(s.t.app, project.secretKey, 'items/project-owned', 'x');
    });
    after(async () => s?.close());

    async function listAll(credential: string, query: string, limit: number): Promise<{ keys: string[]; pages: number }> {
      const keys: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res = await listObjects(s.t.app, credential, `items?limit=${limit}${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        assert.equal(res.statusCode, 200, res.body);
        const page = res.json<PageJson>();
        assert.ok(page.items.length <= limit);
        keys.push(...page.items.map((item) => item.key));
        cursor = page.next_cursor;
        pages++;
        assert.ok(pages < 100, 'pagination does not end');
      } while (cursor);
      return { keys, pages };
    }

    it('lists the metadata of one owner by key in byte order (COLLATE "C"), default limit 20', async () => {
      const res = await listObjects(s.t.app, player.accessToken, 'items');
      assert.equal(res.statusCode, 200, res.body);
      const page = res.json<PageJson>();
      const expected = byteOrder(KEYS);
      assert.deepEqual(page.items.map((item) => item.key), expected);
      assert.equal(page.next_cursor, null);
      const first = page.items[0]!;
      assert.deepEqual(Object.keys(first).sort(), ['acl', 'collection', 'content_type', 'key', 'owner', 'size', 'updated_at', 'version']);
      assert.equal(first.collection, 'items');
      assert.equal(first.owner, player.playerId);
      assert.equal(first.content_type, 'text/plain');
      assert.equal(first.size, `body of ${first.key}`.length);
      assert.match(first.version, /^[0-9a-f]{32}$/);
    });

    it('pages through everything exactly once with an opaque cursor, for every page size', async () => {
      const expected = byteOrder(KEYS);
      for (const limit of [1, 2, 3, 5, 13, 100]) {
        const { keys, pages } = await listAll(player.accessToken, '', limit);
        assert.deepEqual(keys, expected, `limit ${limit}`);
        assert.equal(pages, Math.max(1, Math.ceil(expected.length / limit)), `limit ${limit}`);
      }
    });

    it('filters by a literal prefix: _ and % are not wildcards', async () => {
      const prefixed = async (prefix: string) => (await listAll(player.accessToken, `&prefix=${encodeURIComponent(prefix)}`, 2)).keys;
      assert.deepEqual(await prefixed('a_'), ['a_1', 'a_b_c']);
      assert.deepEqual(await prefixed('a'), byteOrder(KEYS.filter((k) => k.startsWith('a'))));
      assert.deepEqual(await prefixed('ab'), ['ab', 'abc']);
      assert.deepEqual(await prefixed('a.'), ['a.b']);
      assert.deepEqual(await prefixed('_'), ['_x']);
      assert.deepEqual(await prefixed('zzz'), []);
      assert.deepEqual(await prefixed(''), byteOrder(KEYS));
      // '%' cannot occur in a key, so as a prefix it is invalid rather than a wildcard.
      assertProblem(await listObjects(s.t.app, player.accessToken, 'items?prefix=a%25'), 400, 'validation');
    });

    it('a secret key lists the project\'s own objects, or a player\'s with ?owner=', async () => {
      const own = (await listObjects(s.t.app, project.secretKey, 'items')).json<PageJson>();
      assert.deepEqual(own.items.map((item) => item.key), ['project-owned']);
      assert.equal(own.items[0]!.owner, null);
      const players = (await listObjects(s.t.app, project.secretKey, `items?owner=${player.playerId}&limit=100`)).json<PageJson>();
      assert.equal(players.items.length, KEYS.length);
    });

    it('rejects bad limits, cursors and names with 400', async () => {
      for (const query of ['limit=0', 'limit=101', 'limit=-1', 'limit=abc', 'limit=1.5', 'cursor=', 'cursor=garbage', 'cursor=%7B%7D', 'unknown=1', 'prefix=' + 'a'.repeat(129)]) {
        assertProblem(await listObjects(s.t.app, player.accessToken, `items?${query}`), 400, 'validation', query);
      }
      // Cursors that decode but are not ours.
      const forged = [{ after: 5 }, { after: 'a/b' }, { after: '' }, ['a'], 'a', { before: 'a' }];
      for (const value of forged) {
        const cursor = Buffer.from(JSON.stringify(value)).toString('base64url');
        assertProblem(await listObjects(s.t.app, player.accessToken, `items?cursor=${cursor}`), 400, 'validation', JSON.stringify(value));
      }
      const huge = Buffer.from(JSON.stringify({ after: 'a'.repeat(400) })).toString('base64url');
      assertProblem(await listObjects(s.t.app, player.accessToken, `items?cursor=${huge}`), 400, 'validation');
      assertProblem(await listObjects(s.t.app, player.accessToken, 'bad%20name'), 400, 'validation');
      assertProblem(await listObjects(s.t.app, player.accessToken, 'x'.repeat(129)), 400, 'validation');
    });
  });
}
