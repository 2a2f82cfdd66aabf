/**
 * The idempotency module's claims, on the store the module provides: a claim made in the caller's own
 * transaction, its answer stored there and amended after the commit, replayed for 24 h; another request with
 * the key is 409; concurrent claims of one key have one winner; a rolled-back or released claim frees the key;
 * keys are per project, operation and caller. PGlite always, PostgreSQL when DATABASE_URL is set.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import { seedTenant, type Scope } from '../support/fixtures/index.js';
import { IdempotencyKeyStore } from '../../src/modules/idempotency/key-store.js';
import type { ClaimOptions, ClaimResult, IdempotencyTicket, IdempotentRequest } from '../../src/modules/idempotency/api.js';
import type { Queryable } from '../../src/internal/db/database.js';

interface Answer {
  n: number;
  rank?: number;
}

const request = (key: string, body: unknown = { score: 1 }): IdempotentRequest => ({ operation: 'test.submit', caller: 'secret', key, request: body });

const isConflict = (error: { status?: number; slug?: string }) => error.status === 409 && error.slug === 'conflict';

for (const kind of databaseKinds()) {
  describe(`idempotency keys (${kind.name})`, () => {
    let database: TestDatabase;
    let keys: IdempotencyKeyStore;
    let own: Scope;
    let sibling: Scope;
    let stranger: Scope;
    before(async () => {
      database = await kind.create();
      keys = new IdempotencyKeyStore(database.db);
      const { a, b } = await database.db.operator('test seed', async (tx) => ({ a: await seedTenant(tx, 'idem-a'), b: await seedTenant(tx, 'idem-b') }));
      own = { tenantId: a.tenantId, projectId: a.projects[0] };
      sibling = { tenantId: a.tenantId, projectId: a.projects[1] };
      stranger = { tenantId: b.tenantId, projectId: b.projects[0] };
    });
    after(async () => database?.drop());

    /** One transaction: claim, and when this request owns the key, store `answer` (unless it is null). */
    async function attempt(scope: Scope, req: IdempotentRequest, answer: Answer | null, options?: ClaimOptions): Promise<ClaimResult<Answer>> {
      return database.db.withTenant(scope, async (tx) => {
        const claim = await keys.claim<Answer>(tx, scope, req, options);
        if (claim.status === 'claimed' && answer) assert.equal(await keys.store(tx, claim.ticket, answer), true);
        return claim;
      });
    }

    const ticketOf = (claim: ClaimResult<Answer>): IdempotencyTicket => {
      assert.equal(claim.status, 'claimed');
      return (claim as { ticket: IdempotencyTicket }).ticket;
    };

    const age = (key: string, interval: string) =>
      database.db.operator('test: age a key', (tx) => tx.query(`update idempotency_keys set created_at = created_at - $2::interval where key = $1`, [key, interval]));

    it('claims, stores, and replays the stored answer (amended after the commit) for a retry of the same request', async () => {
      const first = await attempt(own, request('replay'), { n: 1 });
      await keys.amend(ticketOf(first), { rank: 7 });
      assert.deepEqual(await attempt(own, request('replay'), { n: 2 }), { status: 'replay', answer: { n: 1, rank: 7 } });
      // Object keys in another order are the same request.
      await attempt(own, request('replay-order', { a: 1, b: { c: 2, d: 3 } }), { n: 3 });
      assert.deepEqual(await attempt(own, request('replay-order', { b: { d: 3, c: 2 }, a: 1 }), null), { status: 'replay', answer: { n: 3 } });
    });

    it('refuses the same key with another request (409), and changes nothing', async () => {
      await attempt(own, request('reused', { score: 1 }), { n: 1 });
      await assert.rejects(attempt(own, request('reused', { score: 2 }), { n: 2 }), isConflict);
      assert.deepEqual(await attempt(own, request('reused', { score: 1 }), null), { status: 'replay', answer: { n: 1 } });
    });

    it('a claim committed without an answer is in progress for a retry; another request with its key is still 409', async () => {
      const pending = ticketOf(await attempt(own, request('slow'), null));
      assert.deepEqual(await attempt(own, request('slow'), null), { status: 'in-progress' });
      await assert.rejects(attempt(own, request('slow', { other: true }), null), isConflict);
      assert.equal(await database.db.withTenant(own, (tx) => keys.store(tx, pending, { n: 5 })), true);
      assert.deepEqual(await attempt(own, request('slow'), null), { status: 'replay', answer: { n: 5 } });
    });

    it('a key older than 24 h is claimed afresh, by any request', async () => {
      await attempt(own, request('old', { score: 1 }), { n: 1 });
      await age('old', '25 hours');
      const fresh = await attempt(own, request('old', { score: 2 }), { n: 2 });
      assert.equal(fresh.status, 'claimed');
      assert.deepEqual(await attempt(own, request('old', { score: 2 }), null), { status: 'replay', answer: { n: 2 } });
      // Just under 24 h it still answers.
      await age('old', '23 hours 59 minutes');
      assert.deepEqual(await attempt(own, request('old', { score: 2 }), null), { status: 'replay', answer: { n: 2 } });
    });

    it('concurrent claims of one key: one wins, every other gets its answer', async () => {
      const results = await Promise.all(Array.from({ length: 12 }, (_, n) => attempt(own, request('race'), { n })));
      const winners = results.filter((result) => result.status === 'claimed');
      assert.equal(winners.length, 1, JSON.stringify(results));
      const [stored] = await database.db.withTenant(own, (tx) => tx.query<{ answer: Answer }>(`select answer from idempotency_keys where key = 'race'`));
      for (const result of results) if (result.status !== 'claimed') assert.deepEqual(result, { status: 'replay', answer: stored!.answer });
    });

    it('a rolled-back claim frees the key, and so does a released one', async () => {
      await assert.rejects(
        database.db.withTenant(own, async (tx: Queryable) => {
          await keys.claim(tx, own, request('rolled-back'));
          throw new Error('the work failed');
        }),
        /the work failed/,
      );
      assert.equal((await attempt(own, request('rolled-back', { score: 9 }), { n: 1 })).status, 'claimed');

      const claimed = ticketOf(await attempt(own, request('released'), null));
      await database.db.withTenant(own, (tx) => keys.release(tx, claimed));
      assert.equal((await attempt(own, request('released', { score: 9 }), { n: 2 })).status, 'claimed');
      // A stored answer is not released.
      const answered = ticketOf(await attempt(own, request('answered'), { n: 3 }));
      await database.db.withTenant(own, (tx) => keys.release(tx, answered));
      assert.deepEqual(await attempt(own, request('answered'), null), { status: 'replay', answer: { n: 3 } });
    });

    it('takes over a claim abandoned without an answer only when the route allows it; the old claim can then store nothing', async () => {
      const options = { abandonAfterMs: 60_000 };
      const abandoned = ticketOf(await attempt(own, request('crashed'), null, options));
      assert.deepEqual(await attempt(own, request('crashed'), null, options), { status: 'in-progress' }, 'not yet abandoned');
      await age('crashed', '2 minutes');
      assert.deepEqual(await attempt(own, request('crashed'), null), { status: 'in-progress' }, 'without abandonAfterMs it waits out the 24 h');
      const takeover = ticketOf(await attempt(own, request('crashed'), null, options));
      assert.equal(await database.db.withTenant(own, (tx) => keys.store(tx, abandoned, { n: 1 })), false, 'the old claim lost the key');
      await database.db.withTenant(own, (tx) => keys.release(tx, abandoned));
      assert.equal(await database.db.withTenant(own, (tx) => keys.store(tx, takeover, { n: 2 })), true);
      await keys.amend(abandoned, { rank: 1 });
      assert.deepEqual(await attempt(own, request('crashed'), null, options), { status: 'replay', answer: { n: 2 } });
    });

    it('keys are per project, operation and caller: the same key elsewhere is another key', async () => {
      await attempt(own, request('shared'), { n: 1 });
      for (const [scope, req] of [
        [sibling, request('shared')],
        [stranger, request('shared')],
        [own, { ...request('shared'), operation: 'test.other' }],
        [own, { ...request('shared'), caller: 'player:1' }],
      ] as const) {
        const claim = await attempt(scope, req, { n: 2 });
        assert.equal(claim.status, 'claimed', JSON.stringify(req));
      }
      assert.deepEqual(await attempt(own, request('shared'), null), { status: 'replay', answer: { n: 1 } });
      // Under RLS, another project sees none of this project's keys.
      const visible = await database.db.withTenant(sibling, (tx) => tx.query<{ n: number }>('select count(*)::int as n from idempotency_keys'));
      assert.equal(visible[0]!.n, 1, 'only its own key');
    });

    it('refuses an operation name that is not one', async () => {
      await assert.rejects(attempt(own, { ...request('bad-op'), operation: 'Not An Op' }, null), /not an operation name/);
    });
  });
}
