/**
 * The access tokens' issuer (`iss`). Without GGSCALE_PUBLIC_URL every node of a deployment derives the same
 * one from the deployment namespace, so nodes listening on different ports accept each other's players;
 * an explicitly set GGSCALE_PUBLIC_URL stays the issuer. Runs on PGlite, and PostgreSQL when configured.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose';
import { buildTestApp, type TestApp } from '../support/app.js';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import { namespaceOf } from '../support/deployments.js';
import { freePort } from '../support/process.js';
import { createPlayer, createProject, createTenant, type TestProject } from '../support/tenancy.js';
import { PostgresDatabase } from '../../src/internal/db/postgres.js';
import type { Database } from '../../src/internal/db/database.js';

for (const kind of databaseKinds()) {
  describe(`token issuer across nodes (${kind.name})`, () => {
    let database: TestDatabase;
    const extraPools: Database[] = [];
    const nodes: TestApp[] = [];
    let project: TestProject;

    /** One more node of the deployment: its own app (its own pool on PostgreSQL), listening on its own port. */
    const startNode = async (env: Record<string, string> = {}): Promise<{ node: TestApp; url: string }> => {
      let db = database.db;
      if (database.url) {
        db = await PostgresDatabase.open({ url: database.url, poolSize: 2, statementTimeoutMs: 10_000 });
        extraPools.push(db);
      }
      const port = await freePort();
      const node = await buildTestApp({ db, env: { PORT: String(port), HOST: '127.0.0.1', ...env } });
      nodes.push(node);
      await node.app.listen({ port: node.config.port, host: node.config.host });
      return { node, url: `http://127.0.0.1:${port}` };
    };
    const me = (url: string, token: string) => fetch(`${url}/v1/auth/me`, { headers: { authorization: `Bearer ${token}` } });

    before(async () => {
      database = await kind.create();
      const { node } = await startNode();
      project = await createProject(node.app, await createTenant(node.app));
    });
    after(async () => {
      for (const node of nodes) await node.close();
      for (const db of extraPools) await db.close();
      await database.drop();
    });

    it('without GGSCALE_PUBLIC_URL, nodes on different ports accept each other\'s access tokens', async () => {
      const one = await startNode();
      const two = await startNode();
      assert.notEqual(one.node.config.port, two.node.config.port);
      const signedOnOne = await createPlayer(one.node.app, project);
      const signedOnTwo = await createPlayer(two.node.app, project);
      for (const [token, url] of [
        [signedOnOne.accessToken, two.url],
        [signedOnTwo.accessToken, one.url],
      ] as const) {
        const res = await me(url, token);
        assert.equal(res.status, 200, await res.text());
      }
    });

    it('the default issuer is derived from the deployment namespace and verifies against the JWKS', async () => {
      const { node, url } = await startNode();
      const player = await createPlayer(node.app, project);
      const issuer = `urn:ggscale:${await namespaceOf(database.db)}`;
      assert.equal(decodeJwt(player.accessToken).iss, issuer);
      const jwks = (await (await fetch(`${url}/.well-known/jwks.json`)).json()) as { keys: object[] };
      const { payload } = await jwtVerify(player.accessToken, createLocalJWKSet(jwks as never), { issuer, audience: `project:${project.projectId}` });
      assert.equal(payload.sub, player.playerId);
    });

    it('an explicit GGSCALE_PUBLIC_URL stays the issuer', async () => {
      const publicUrl = 'https://api.ggscale.test';
      const one = await startNode({ GGSCALE_PUBLIC_URL: publicUrl });
      const two = await startNode({ GGSCALE_PUBLIC_URL: `${publicUrl}/` });
      const other = await startNode({ GGSCALE_PUBLIC_URL: 'https://other.ggscale.test' });
      const player = await createPlayer(one.node.app, project);
      assert.equal(decodeJwt(player.accessToken).iss, publicUrl);
      assert.equal((await me(two.url, player.accessToken)).status, 200, 'the same public URL: the same issuer');
      assert.equal((await me(other.url, player.accessToken)).status, 401, 'another public URL is another issuer');
    });
  });
}
