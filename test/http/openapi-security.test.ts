/**
 * The OpenAPI document's security against what the routes really do: every operation is called once per
 * credential kind (and once with a player token in `?token=`), and the kinds the auth hook lets through must
 * be exactly the alternatives the operation lists, one security scheme per kind. A client generator reads
 * these to know which credential to send where.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp, type TestApp } from '../support/app.js';
import { createPglite, type TestDatabase } from '../support/db.js';
import { OPERATOR_TOKEN, bearer, createPlayer, createProject, createTenant, type TestProject } from '../support/tenancy.js';

type Security = Array<Record<string, string[]>>;
interface Operation {
  operationId: string;
  security?: Security;
}
interface Document {
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, Record<string, unknown>> };
}

/** The scheme each way of presenting a credential is documented by. */
const SCHEME_OF = {
  operator: 'operatorToken',
  secret: 'secretKey',
  publishable: 'publishableKey',
  player: 'playerToken',
  playerQuery: 'playerTokenQuery',
} as const;
type Presentation = keyof typeof SCHEME_OF;

/** Ids that exist nowhere: a probe that gets through the auth hook changes nothing that later probes need. */
const ABSENT = '999999999999';

describe('OpenAPI security requirements', () => {
  let t: TestApp;
  let database: TestDatabase;
  let project: TestProject;
  let document: Document;

  before(async () => {
    database = await createPglite();
    // Each probe signs a fresh player in (a route like logout or revoke-all ends the session it was given).
    t = await buildTestApp({ db: database.db, env: { AUTH_RATE_LIMIT_PER_MIN: '100000', RATE_LIMIT_PER_MIN: '100000' } });
    project = await createProject(t.app, await createTenant(t.app));
    document = (await t.app.inject({ method: 'GET', url: '/v1/openapi.json' })).json<Document>();
  });
  after(async () => {
    await t.close();
    await database.drop();
  });

  const operations = () =>
    Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]) => ({ method: method.toUpperCase(), path, operation, where: `${method.toUpperCase()} ${path}` })),
    );

  /** One call with the credential presented that way; what the auth hook made of it. */
  async function probe(method: string, path: string, how: Presentation | 'none'): Promise<'admitted' | 'missing' | 'wrong-kind'> {
    const url = path.replace(/\{[^}]+\}/g, ABSENT);
    let headers: Record<string, string> = {};
    let query = '';
    if (how === 'operator') headers = bearer(OPERATOR_TOKEN);
    if (how === 'secret') headers = bearer(project.secretKey);
    if (how === 'publishable') headers = bearer(project.publishableKey);
    if (how === 'player') headers = bearer((await createPlayer(t.app, project)).accessToken);
    if (how === 'playerQuery') query = `?token=${(await createPlayer(t.app, project)).accessToken}`;
    const res = await t.app.inject({ method: method as 'GET', url: url + query, headers });
    const detail = res.body ? (res.json<{ detail?: string }>().detail ?? '') : '';
    if (res.statusCode === 401) return 'missing';
    // The auth hook's refusal names what the route accepts; a route may refuse with its own 403 once the
    // credential got through (a player deleting another's score). A HEAD answer has no body to tell them apart.
    if (res.statusCode === 403 && (method === 'HEAD' || detail.startsWith('This route accepts '))) return 'wrong-kind';
    return 'admitted';
  }

  it('declares one scheme per way of presenting a credential, each described, and no catch-all', () => {
    const schemes = document.components.securitySchemes;
    assert.deepEqual(Object.keys(schemes).sort(), Object.values(SCHEME_OF).sort());
    for (const name of ['operatorToken', 'secretKey', 'publishableKey', 'playerToken']) {
      assert.equal(schemes[name]!.type, 'http', name);
      assert.equal(schemes[name]!.scheme, 'bearer', name);
    }
    assert.equal(schemes.playerToken!.bearerFormat, 'JWT');
    assert.deepEqual({ type: schemes.playerTokenQuery!.type, in: schemes.playerTokenQuery!.in, name: schemes.playerTokenQuery!.name }, {
      type: 'apiKey',
      in: 'query',
      name: 'token',
    });
    const descriptions = Object.values(schemes).map((scheme) => scheme.description);
    assert.ok(descriptions.every((description) => typeof description === 'string' && description.length > 20), 'every scheme is described');
    assert.equal(new Set(descriptions).size, descriptions.length, 'each scheme has its own description');
  });

  it('lists, for every operation, exactly the credential kinds its route admits, as alternatives', async () => {
    const publicOperations: string[] = [];
    for (const { method, path, operation, where } of operations()) {
      const security = operation.security;
      assert.ok(Array.isArray(security), `${where}: security is stated`);
      if ((await probe(method, path, 'none')) !== 'missing') {
        publicOperations.push(operation.operationId);
        assert.deepEqual(security, [], `${where} needs no credential: security []`);
        continue;
      }
      const admitted: string[] = [];
      for (const how of Object.keys(SCHEME_OF) as Presentation[]) {
        const outcome = await probe(method, path, how);
        if (how === 'playerQuery') assert.notEqual(outcome, 'wrong-kind', `${where}: ?token= is either read or ignored`);
        else assert.notEqual(outcome, 'missing', `${where}: a valid ${how} credential is never unknown`);
        if (outcome === 'admitted') admitted.push(SCHEME_OF[how]);
      }
      assert.ok(admitted.length > 0, `${where} admits some credential`);
      for (const requirement of security) assert.equal(Object.keys(requirement).length, 1, `${where}: one scheme per alternative`);
      assert.deepEqual(security.map((requirement) => Object.keys(requirement)[0]).sort(), admitted.sort(), `${where}: the documented schemes`);
      for (const requirement of security) assert.deepEqual(Object.values(requirement)[0], [], `${where}: no scopes`);
    }
    assert.deepEqual(publicOperations.sort(), ['getHealth', 'getJwks', 'getReadiness'].sort(), 'the public operations');
  });

  it('documents HEAD of a storage object with the same credentials as its GET', () => {
    const object = document.paths['/v1/storage/{collection}/{key}']!;
    assert.deepEqual(object.head?.security, object.get?.security);
    const schemes = (object.head?.security ?? []).flatMap((requirement) => Object.keys(requirement));
    assert.deepEqual(schemes.sort(), ['playerToken', 'secretKey']);
  });
});
