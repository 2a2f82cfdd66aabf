/**
 * Regression (found by the isolation fuzzer): a fleet-listing cursor is client input. One whose name held a
 * NUL byte reached Postgres as text and answered 500 (Postgres text cannot hold U+0000); a cursor must be a
 * fleet name, else it is a 400 like any other cursor that is not ours.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp, type TestApp } from '../support/app.js';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import { bearer, createProject, createTenant, operator, type TestProject } from '../support/tenancy.js';

const cursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const NOT_FLEET_NAMES = ['\u0000', 'a\u0000b', 'Not A Fleet', 'é', '-'];

for (const kind of databaseKinds()) {
  describe(`fleet listing cursors (${kind.name})`, () => {
    let database: TestDatabase;
    let t: TestApp;
    let project: TestProject;

    before(async () => {
      database = await kind.create();
      t = await buildTestApp({ db: database.db, env: { FLEET_LOCAL_BUFFER: '0' } });
      project = await createProject(t.app, await createTenant(t.app));
    });
    after(async () => {
      await t.close();
      await database.drop();
    });

    it('a cursor that names no fleet is a 400 on the project\'s and the operator\'s listing, never a 500', async () => {
      for (const after of NOT_FLEET_NAMES) {
        const own = await t.app.inject({ method: 'GET', url: `/v1/fleet/fleets?cursor=${cursor({ after })}`, headers: bearer(project.secretKey) });
        assert.equal(own.statusCode, 400, `GET /v1/fleet/fleets after ${JSON.stringify(after)}: ${own.body}`);
        const admin = await operator(t.app, 'GET', `/v1/admin/projects/${project.projectId}/fleets?cursor=${cursor({ after })}`);
        assert.equal(admin.statusCode, 400, `operator listing after ${JSON.stringify(after)}: ${admin.body}`);
      }
    });

    it('the cursors the listings hand out still page', async () => {
      for (const name of ['arena', 'lobby']) {
        const res = await operator(t.app, 'POST', `/v1/admin/projects/${project.projectId}/fleets`, { name, backend: 'local' });
        assert.equal(res.statusCode, 201, res.body);
      }
      const names: string[] = [];
      let next: string | null = null;
      do {
        const url: string = `/v1/fleet/fleets?limit=1${next ? `&cursor=${next}` : ''}`;
        const page = (await t.app.inject({ method: 'GET', url, headers: bearer(project.secretKey) })).json<{ items: { name: string }[]; next_cursor: string | null }>();
        names.push(...page.items.map((fleet) => fleet.name));
        next = page.next_cursor;
      } while (next);
      assert.deepEqual(names, ['arena', 'default', 'lobby']);
    });
  });
}
