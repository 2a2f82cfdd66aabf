/**
 * The party store contract, on memory and (with REDIS_URL, always in CI) on Redis through two store
 * instances sharing one Redis: compare-and-set by rev, "party of" claims refused while a player is in
 * another party, releases, closing, the published-version mark, and deadlines claimed once.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { MemoryPartyStore } from '../../src/modules/parties/memory-party-store.js';
import { RedisPartyStore } from '../../src/modules/parties/redis-party-store.js';
import type { PartyDoc } from '../../src/modules/parties/party.js';
import type { PartyStore } from '../../src/modules/parties/party-store.js';

const REDIS_URL = process.env.REDIS_URL;

interface Backend {
  name: string;
  skip: string | false;
  /** Two handles on the same state (one store twice for memory). */
  open(): Promise<[PartyStore, PartyStore]>;
  cleanup(): Promise<void>;
}

const prefix = `ggscale-test-parties-${randomBytes(4).toString('hex')}:`;
const opened: PartyStore[] = [];
const backends: Backend[] = [
  {
    name: 'memory',
    skip: false,
    open() {
      const store = new MemoryPartyStore();
      return Promise.resolve([store, store]);
    },
    cleanup: async () => undefined,
  },
  {
    name: 'redis',
    skip: REDIS_URL || process.env.CI ? false : 'REDIS_URL not set',
    async open() {
      const namespace = randomBytes(8).toString('hex');
      const make = () => new RedisPartyStore({ url: REDIS_URL!, keyPrefix: prefix, namespace });
      const pair: [RedisPartyStore, RedisPartyStore] = [make(), make()];
      opened.push(...pair);
      for (const store of pair) assert.ok(await store.waitReady(5_000), 'Redis answers');
      return pair;
    },
    async cleanup() {
      await Promise.all(opened.map((store) => store.close()));
      const admin = new Redis(REDIS_URL!);
      const keys = await admin.keys(`${prefix}*`);
      if (keys.length > 0) await admin.del(...keys);
      await admin.quit();
    },
  },
];

const scope = { tenantId: '7', projectId: '70' };
const other = { tenantId: '7', projectId: '71' };

function party(id: string, members: string[], rev = 1, extra: Partial<PartyDoc> = {}): PartyDoc {
  return {
    id,
    leader_id: members[0]!,
    open: false,
    max_size: 4,
    label: null,
    members: members.map((player_id, i) => ({ player_id, joined_at: 1_000 + i, offline_deadline: null })),
    invites: [],
    version: rev,
    rev,
    created_at: 1_000,
    ...extra,
  };
}

for (const backend of backends) {
  describe(`party store on ${backend.name}`, { skip: backend.skip }, () => {
    after(() => backend.cleanup());

    it('creates once, then writes only at the rev it read', async () => {
      const [a, b] = await backend.open();
      assert.equal(await a.commit(scope, { id: 'p1', expectedRev: null, next: party('p1', ['1']), claim: ['1'], release: [] }), 'ok');
      assert.equal(await b.commit(scope, { id: 'p1', expectedRev: null, next: party('p1', ['2']), claim: ['2'], release: [] }), 'stale');
      assert.equal((await b.get(scope, 'p1'))?.members[0]?.player_id, '1');
      assert.equal(await b.partyOf(scope, '1'), 'p1');
      assert.equal(await b.partyOf(scope, '2'), undefined);
      assert.equal(await b.commit(scope, { id: 'p1', expectedRev: 1, next: party('p1', ['1', '2'], 2), claim: ['2'], release: [] }), 'ok');
      assert.equal(await a.commit(scope, { id: 'p1', expectedRev: 1, next: party('p1', ['1', '3'], 2), claim: ['3'], release: [] }), 'stale');
      assert.deepEqual((await a.get(scope, 'p1'))?.members.map((m) => m.player_id), ['1', '2']);
      assert.equal(await a.partyOf(scope, '3'), undefined);
    });

    it('refuses a claim on a player in another party, and writes nothing then', async () => {
      const [a, b] = await backend.open();
      await a.commit(scope, { id: 'q1', expectedRev: null, next: party('q1', ['11']), claim: ['11'], release: [] });
      await a.commit(scope, { id: 'q2', expectedRev: null, next: party('q2', ['12']), claim: ['12'], release: [] });
      assert.equal(await b.commit(scope, { id: 'q2', expectedRev: 1, next: party('q2', ['12', '11'], 2), claim: ['11'], release: [] }), 'taken');
      assert.equal((await b.get(scope, 'q2'))?.rev, 1);
      assert.equal(await b.partyOf(scope, '11'), 'q1');
    });

    it('releases players, closes parties, and keeps projects apart', async () => {
      const [a, b] = await backend.open();
      await a.commit(scope, { id: 'r1', expectedRev: null, next: party('r1', ['21', '22']), claim: ['21', '22'], release: [] });
      assert.equal(await b.get(other, 'r1'), undefined);
      assert.equal(await b.partyOf(other, '21'), undefined);
      assert.equal(await b.commit(scope, { id: 'r1', expectedRev: 1, next: party('r1', ['22'], 2), claim: [], release: ['21'] }), 'ok');
      assert.equal(await b.partyOf(scope, '21'), undefined);
      assert.equal(await b.commit(scope, { id: 'r1', expectedRev: 2, next: null, claim: [], release: ['22'] }), 'ok');
      assert.equal(await a.get(scope, 'r1'), undefined);
      assert.equal(await a.partyOf(scope, '22'), undefined);
      // A release never touches a key naming another party.
      await a.commit(scope, { id: 'r2', expectedRev: null, next: party('r2', ['23']), claim: ['23'], release: [] });
      await a.commit(scope, { id: 'r3', expectedRev: null, next: party('r3', ['24']), claim: ['24'], release: ['23'] });
      assert.equal(await b.partyOf(scope, '23'), 'r2');
    });

    it('keeps the highest published version', async () => {
      const [a, b] = await backend.open();
      assert.equal(await a.published(scope, 's1'), 0);
      await a.markPublished(scope, 's1', 3);
      await b.markPublished(scope, 's1', 2);
      assert.equal(await b.published(scope, 's1'), 3);
      assert.equal(await b.published(other, 's1'), 0);
    });

    it('hands each due deadline to one claimer, again after the claim, and drops it with the party', async () => {
      const [a, b] = await backend.open();
      const due = party('d1', ['31', '32'], 1);
      due.members[1]!.offline_deadline = 5_000;
      await a.commit(scope, { id: 'd1', expectedRev: null, next: due, claim: ['31', '32'], release: [] });
      const later = party('d2', ['33'], 1);
      later.members[0]!.offline_deadline = 50_000;
      await a.commit(other, { id: 'd2', expectedRev: null, next: later, claim: ['33'], release: [] });
      assert.deepEqual(await a.claimDue(4_000, 1_000, 10), []);
      const [first, second] = await Promise.all([a.claimDue(6_000, 1_000, 10), b.claimDue(6_000, 1_000, 10)]);
      const claimed = [...first, ...second].filter((ref) => ref.partyId === 'd1');
      assert.deepEqual(claimed, [{ tenantId: '7', projectId: '70', partyId: 'd1' }]);
      assert.deepEqual((await b.claimDue(6_500, 1_000, 10)).filter((ref) => ref.partyId === 'd1'), []);
      assert.deepEqual((await b.claimDue(7_100, 1_000, 10)).filter((ref) => ref.partyId === 'd1').length, 1);
      await a.commit(scope, { id: 'd1', expectedRev: 1, next: party('d1', ['31'], 2), claim: [], release: ['32'] });
      assert.deepEqual((await b.claimDue(60_000, 1_000, 10)).map((ref) => ref.partyId), ['d2']);
    });
  });
}
