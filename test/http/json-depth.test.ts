/**
 * JSON bodies nested deeper than 32 levels are a 400 validation problem on every JSON route, before any
 * handler runs. Regression: metadata nested 5,000 deep on POST /v1/leaderboards and on a score submit
 * answered 500 (JSON.stringify overflowed the stack in the handler). The one JSON parser that checks the
 * depth keeps Fastify's prototype-poisoning refusal and the body limit.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { buildTestApp, type TestApp } from '../support/app.js';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import { OPERATOR_TOKEN, bearer, createPlayer, createProject, createTenant, type TestPlayer, type TestProject } from '../support/tenancy.js';
import { exceedsJsonDepth } from '../../src/http/json-body.js';

/** `depth` objects, each the only value of the one before: `{"a":{"a":…1…}}`. */
const nestedObjects = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
const nestedArrays = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

function assertValidation(res: LightMyRequestResponse, what: string, detail?: RegExp): void {
  assert.equal(res.statusCode, 400, `${what}: ${res.body}`);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/, what);
  const problem = res.json<{ type: string; detail: string }>();
  assert.equal(problem.type, 'https://ggscale.dev/problems/validation', what);
  if (detail) assert.match(problem.detail, detail, what);
}

/** The parser's refusal, not a later one (a schema or a handler's own check). */
const TOO_DEEP = /nested deeper than 32 levels/;

describe('exceedsJsonDepth', () => {
  it('counts open brackets outside strings, exactly', () => {
    assert.equal(exceedsJsonDepth(nestedArrays(32), 32), false);
    assert.equal(exceedsJsonDepth(nestedArrays(33), 32), true);
    assert.equal(exceedsJsonDepth(nestedObjects(32), 32), false);
    assert.equal(exceedsJsonDepth(nestedObjects(33), 32), true);
    assert.equal(exceedsJsonDepth(`[${'[],'.repeat(1000)}[]]`, 2), false, 'siblings do not add up');
    assert.equal(exceedsJsonDepth('{"a":[{"b":[1]}],"c":{"d":{}}}', 4), false);
    assert.equal(exceedsJsonDepth('{"a":[{"b":[[1]]}]}', 4), true);
  });

  it('ignores brackets inside strings, escaped quotes included', () => {
    assert.equal(exceedsJsonDepth(JSON.stringify({ a: '['.repeat(100) }), 1), false);
    assert.equal(exceedsJsonDepth(JSON.stringify({ a: '\\"[[[[', b: '\\', c: '"{{{{' }), 1), false);
    assert.equal(exceedsJsonDepth(JSON.stringify(['\\', ['x']]), 1), true, 'a string ending in a backslash ends there');
    assert.equal(exceedsJsonDepth(JSON.stringify({ 'k[[[': '\u00e9[' }), 1), false);
  });
});

for (const kind of databaseKinds()) {
  describe(`JSON nesting limit (${kind.name})`, () => {
    let database: TestDatabase;
    let t: TestApp;
    let project: TestProject;
    let player: TestPlayer;
    let counter = 0;
    const boardId = () => `deep-${process.pid}-${++counter}`;

    const post = (url: string, credential: string, payload: string, headers: Record<string, string> = {}) =>
      t.app.inject({ method: 'POST', url, headers: { ...bearer(credential), 'content-type': 'application/json', ...headers }, payload });
    const createBoard = (metadata: string, id = boardId()) =>
      post('/v1/leaderboards', project.secretKey, `{"id":"${id}","sort":"desc","operator":"best","metadata":${metadata}}`);

    before(async () => {
      database = await kind.create();
      t = await buildTestApp({ db: database.db, env: { LOG_LEVEL: 'warn' } });
      project = await createProject(t.app, await createTenant(t.app));
      player = await createPlayer(t.app, project);
    });
    after(async () => {
      await t.close();
      await database.drop();
    });

    it('refuses metadata nested 5,000 deep on board creation and on score submits with 400, not 500', async () => {
      for (const deep of [nestedObjects(5_000), `{"a":${nestedArrays(5_000)}}`]) {
        assertValidation(await createBoard(deep), 'create board', TOO_DEEP);
      }
      const board = boardId();
      assert.equal((await createBoard('{}', board)).statusCode, 201);
      for (const deep of [nestedObjects(5_000), `{"a":${nestedArrays(5_000)}}`]) {
        assertValidation(await post(`/v1/leaderboards/${board}/scores`, player.accessToken, `{"score":1,"metadata":${deep}}`), 'player submit', TOO_DEEP);
        assertValidation(
          await post(`/v1/leaderboards/${board}/scores`, project.secretKey, `{"player_id":"${player.playerId}","score":1,"metadata":${deep}}`),
          'server submit',
          TOO_DEEP,
        );
      }
      assert.deepEqual(
        t.logs.lines.filter((line) => /"level":(50|60)|"level":"(error|fatal)"/.test(line)),
        [],
        'no error was logged',
      );
    });

    it('allows exactly 32 levels, counting the body itself, and refuses 33', async () => {
      // The body object is level 1, so metadata may nest 31 deep.
      const accepted = await createBoard(nestedObjects(31));
      assert.equal(accepted.statusCode, 201, accepted.body);
      assertValidation(await createBoard(nestedObjects(32)), '33 levels', TOO_DEEP);
    });

    it('does not count brackets inside strings', async () => {
      const res = await createBoard(JSON.stringify({ note: '['.repeat(200) + '{'.repeat(200), quoted: '\\"[[[[' }));
      assert.equal(res.statusCode, 201, res.body);
    });

    it('applies to every JSON route, the operator API included', async () => {
      assertValidation(
        await post('/v1/admin/tenants', OPERATOR_TOKEN, `{"name":"deep","x":${nestedArrays(100_000)}}`),
        'operator route, 100k deep',
        TOO_DEEP,
      );
      assertValidation(await post('/v1/auth/device', project.publishableKey, nestedArrays(40)), 'sign-in route', TOO_DEEP);
      assertValidation(
        await post('/v1/leaderboards', project.secretKey, nestedObjects(1_000), { 'content-type': 'application/json; charset=utf-8' }),
        'with a charset parameter',
        TOO_DEEP,
      );
    });

    it('keeps refusing prototype poisoning and oversized bodies as before', async () => {
      assertValidation(await post('/v1/admin/tenants', OPERATOR_TOKEN, '{"name":"x","__proto__":{"polluted":true}}'), '__proto__');
      assertValidation(await post('/v1/admin/tenants', OPERATOR_TOKEN, '{"name":"x","constructor":{"prototype":{"polluted":true}}}'), 'constructor.prototype');
      assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted'), false);
      assertValidation(await post('/v1/admin/tenants', OPERATOR_TOKEN, '{"name":'), 'truncated JSON');
      const tooBig = await post('/v1/admin/tenants', OPERATOR_TOKEN, `{"name":"x","pad":"${'x'.repeat(t.config.bodyLimitBytes)}"}`);
      assert.equal(tooBig.statusCode, 413, tooBig.body);
      assert.match(String(tooBig.headers['content-type']), /^application\/problem\+json/);
      // Text that merely mentions the keys is fine.
      const named = await createBoard('{"note":"__proto__ constructor prototype"}');
      assert.equal(named.statusCode, 201, named.body);
    });
  });
}
