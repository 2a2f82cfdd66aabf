/**
 * The flush's safety (docs/api/usage.md): a flush that fails keeps its batch, unchanged and with its id, for
 * the next flush; a batch the database has already applied (its commit happened, the answer was lost) is not
 * added twice; counts still pending for an hour that became final are dropped.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { UsageCounters, type UsageBatch } from '../../src/modules/usage/usage-counters.js';
import { UsageFlusher } from '../../src/modules/usage/usage-flusher.js';
import { UsageStore } from '../../src/modules/usage/usage-store.js';
import { createLogger } from '../../src/internal/telemetry/logger.js';
import { LogCapture } from '../support/app.js';
import { createPglite, type TestDatabase } from '../support/db.js';

const HOUR = 3_600_000;
const scope = { tenantId: '1', projectId: '2' };

/** A store that fails while `failing` is set, and records what it was asked to apply. */
class FakeStore {
  failing = false;
  readonly applied: UsageBatch[] = [];
  readonly seen = new Set<string>();
  async apply(batch: UsageBatch): Promise<boolean> {
    if (this.failing) throw new Error('database unavailable');
    if (this.seen.has(batch.id)) return false;
    this.seen.add(batch.id);
    this.applied.push(structuredClone(batch));
    return true;
  }
  async sampleStorage(): Promise<void> {}
  async measureServerSeconds(): Promise<void> {}
}

function setup(start: number) {
  let now = start;
  const counters = new UsageCounters(() => now);
  const store = new FakeStore();
  const logs = new LogCapture();
  const flusher = new UsageFlusher(counters, store as unknown as UsageStore, createLogger({ level: 'info', destination: logs }), {
    flushMs: 1000,
    finalAfterMs: 300_000,
    now: () => now,
  });
  return { counters, store, flusher, logs, advance: (ms: number) => (now += ms) };
}

describe('usage flusher', () => {
  it('keeps a failed batch for the next flush, with the same id, and adds later counts as a batch of their own', async () => {
    const { counters, store, flusher } = setup(Date.UTC(2026, 0, 1, 10, 0, 5));
    counters.add(scope, 'requests', 3);
    counters.playerActive(scope, '7');
    counters.playerActive(scope, '7');
    store.failing = true;
    await flusher.flush();
    assert.equal(store.applied.length, 0);
    counters.add(scope, 'requests', 2);
    store.failing = false;
    await flusher.flush();
    assert.deepEqual(store.applied.map((batch) => batch.counts.map((row) => row.value)), [[3], [2]]);
    assert.deepEqual(store.applied[0]!.players.map((player) => player.playerId), ['7']);
    await flusher.flush();
    assert.equal(store.applied.length, 2, 'nothing left to apply');
  });

  it('drops pending counts of an hour that became final, and says so', async () => {
    const { counters, store, flusher, logs, advance } = setup(Date.UTC(2026, 0, 1, 10, 59, 0));
    counters.add(scope, 'requests', 4);
    store.failing = true;
    await flusher.flush();
    advance(HOUR + 301_000); // the 10:00 hour ended at 11:00 and became final at 11:05
    counters.add(scope, 'requests', 1);
    store.failing = false;
    await flusher.flush();
    assert.deepEqual(store.applied.flatMap((batch) => batch.counts.map((row) => row.value)), [1]);
    assert.ok(logs.lines.some((line) => line.includes('already final')));
  });
});

describe('usage store (pglite)', () => {
  let database: TestDatabase;
  before(async () => {
    database = await createPglite();
  });
  after(async () => database?.drop());

  it('applies a batch once, whatever the retries', async () => {
    const [ids] = await database.db.operator('test: seed', (tx) =>
      tx.query<{ tenant_id: string; project_id: string; player_id: string }>(
        `with t as (insert into tenants (name) values ('usage-store') returning id),
              p as (insert into projects (tenant_id, name) select id, 'p' from t returning tenant_id, id),
              pl as (insert into players (tenant_id, project_id) select tenant_id, id from p returning tenant_id, project_id, id)
         select tenant_id::text, project_id::text, id::text as player_id from pl`,
      ),
    );
    const at = Date.UTC(2026, 4, 3, 7, 30);
    const projectScope = { tenantId: ids!.tenant_id, projectId: ids!.project_id };
    const counters = new UsageCounters(() => at);
    counters.add(projectScope, 'requests', 5);
    counters.playerActive(projectScope, ids!.player_id);
    const batch = counters.take();
    const store = new UsageStore(database.db);
    assert.equal(await store.apply(batch), true);
    assert.equal(await store.apply(batch), false);
    // The same player in another batch of the month is not counted again.
    const again = new UsageCounters(() => at + HOUR);
    again.playerActive(projectScope, ids!.player_id);
    assert.equal(await store.apply(again.take()), true);
    const rows = await database.db.operator('test: read', (tx) =>
      tx.query<{ meter: string; hour: Date; value: string }>('select meter, hour, value::text as value from usage_hourly where tenant_id = $1 order by meter', [ids!.tenant_id]),
    );
    assert.deepEqual(
      rows.map((row) => [row.meter, new Date(row.hour).toISOString(), row.value]),
      [
        ['mau', '2026-05-03T07:00:00.000Z', '1'],
        ['requests', '2026-05-03T07:00:00.000Z', '5'],
      ],
    );
  });

  it('combines ccu_peak samples by the highest, whatever their order or node, per project and per tenant', async () => {
    const [ids] = await database.db.operator('test: seed', (tx) =>
      tx.query<{ tenant_id: string; project_id: string }>(
        `with t as (insert into tenants (name) values ('usage-peaks') returning id),
              p as (insert into projects (tenant_id, name) select id, 'p' from t returning tenant_id, id)
         select tenant_id::text, id::text as project_id from p`,
      ),
    );
    const at = Date.UTC(2026, 4, 3, 9, 10);
    const store = new UsageStore(database.db);
    for (const [project, tenant] of [[5, 6], [3, 9], [4, 2]] as const) {
      const node = new UsageCounters(() => at); // a node of its own, as another process would be
      node.sampled(ids!.tenant_id, ids!.project_id, project);
      node.sampled(ids!.tenant_id, null, tenant);
      assert.equal(await store.apply(node.take()), true);
    }
    const read = (sql: string) =>
      database.db.operator('test: read', (tx) => tx.query<{ value: string }>(sql, [ids!.tenant_id])).then((rows) => rows.map((row) => row.value));
    assert.deepEqual(await read("select value::text as value from usage_hourly where tenant_id = $1 and meter = 'ccu_peak'"), ['5']);
    assert.deepEqual(await read("select value::text as value from usage_tenant_hourly where tenant_id = $1 and meter = 'ccu_peak'"), ['9']);
  });

  it('recomputes server_seconds of the open hours: an allocation split at the hour, a running one up to now', async () => {
    const [ids] = await database.db.operator('test: seed', (tx) =>
      tx.query<{ tenant_id: string; project_id: string }>(
        `with t as (insert into tenants (name) values ('usage-seconds') returning id),
              p as (insert into projects (tenant_id, name) select id, 'p' from t returning tenant_id, id),
              f as (insert into fleets (tenant_id, project_id, name, backend, max_allocations, allocation_ttl_seconds)
                    select tenant_id, id, 'f', 'local', 10, 3600 from p returning tenant_id, project_id, id),
              a as (insert into fleet_allocations (tenant_id, project_id, fleet_id, backend, state, game_server, allocated_at, ended_at)
                    select tenant_id, project_id, id, 'local', 'Released', 'gs-1', '2026-05-03T10:40:00Z'::timestamptz, '2026-05-03T11:20:00Z'::timestamptz from f
                    union all
                    select tenant_id, project_id, id, 'local', 'Allocated', 'gs-2', '2026-05-03T11:10:00.5Z'::timestamptz, null from f)
         select tenant_id::text, id::text as project_id from p`,
      ),
    );
    const store = new UsageStore(database.db);
    const read = () =>
      database.db.operator('test: read', (tx) =>
        tx.query<{ hour: Date; value: string }>(
          "select hour, value::text as value from usage_hourly where tenant_id = $1 and meter = 'server_seconds' order by hour",
          [ids!.tenant_id],
        ),
      ).then((rows) => rows.map((row) => [new Date(row.hour).toISOString().slice(11, 16), row.value]));
    await store.measureServerSeconds(new Date('2026-05-03T10:00:00Z'), new Date('2026-05-03T11:30:00Z'));
    // 10:40-11:00 and 11:00-11:20, plus 11:10:00.5-11:30 rounded down: 1200 + 1199.5.
    assert.deepEqual(await read(), [['10:00', '1200'], ['11:00', '2399']]);
    await store.measureServerSeconds(new Date('2026-05-03T10:00:00Z'), new Date('2026-05-03T11:40:00Z'));
    await store.measureServerSeconds(new Date('2026-05-03T11:00:00Z'), new Date('2026-05-03T11:40:00Z'));
    assert.deepEqual(await read(), [['10:00', '1200'], ['11:00', '2999']], 'rewritten, not added to');
  });
});
