/**
 * A valid access token is never answered 401 because the database could not be asked: while a node's database
 * is not usable (starting, or unreachable), verifying a token that needs it (signing keys, issuer, session
 * state) is the documented 503, and nothing negative is remembered, so the same token works as soon as the
 * database answers. Before, any failure inside verification became a cached "invalid token" (401 for 5 s).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp, type TestApp } from '../support/app.js';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import { bearer, createPlayer, createProject, createTenant } from '../support/tenancy.js';

for (const kind of databaseKinds()) {
  describe(`access tokens while the database cannot be asked (${kind.name})`, () => {
    let database: TestDatabase;
    let signer: TestApp;
    let verifier: TestApp;

    before(async () => {
      database = await kind.create();
      signer = await buildTestApp({ db: database.db });
      // A second node whose database is not attached yet: it must ask the database to verify anything.
      verifier = await buildTestApp();
    });

    after(async () => {
      await verifier?.close();
      await signer?.close();
      await database?.drop();
    });

    it('answers 503 rather than 401, and accepts the token once the database answers', async () => {
      const project = await createProject(signer.app, await createTenant(signer.app));
      const player = await createPlayer(signer.app, project);
      const request = () => verifier.app.inject({ method: 'GET', url: '/v1/storage/saves', headers: bearer(player.accessToken) });

      const during = await request();
      assert.equal(during.statusCode, 503, during.body);
      assert.ok(during.headers['retry-after'], 'Retry-After');

      verifier.db.attach(database.db);
      const afterwards = await request();
      assert.equal(afterwards.statusCode, 200, afterwards.body);
    });
  });
}
