/**
 * BoardDirectory on a clock the test sets and a store that counts its lookups: a board is looked up once
 * per ttl, `fresh` and `forget` go to the store, a vanished board is a 404, and the parsed reset schedule is
 * kept across reloads of the same board (not of a board recreated under its id).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BoardDirectory } from '../../src/modules/leaderboards/board-directory.js';
import type { Board, BoardStore } from '../../src/modules/leaderboards/board-store.js';

const scope = { tenantId: '1', projectId: '2' };

function store(): { boards: Map<string, Board>; lookups: () => number; store: BoardStore } {
  const boards = new Map<string, Board>();
  let lookups = 0;
  const fake = {
    async get(_scope: unknown, id: string) {
      lookups++;
      return boards.get(id) ?? null;
    },
  };
  return { boards, lookups: () => lookups, store: fake as unknown as BoardStore };
}

const board = (id: string, uid: string, resetCron: string | null = '0 0 * * *'): Board => ({
  uid,
  id,
  sort: 'desc',
  operator: 'best',
  authoritative: false,
  resetCron,
  metadata: {},
  createdAt: new Date(0),
});

describe('BoardDirectory', () => {
  it('looks a board up once per ttl (on a clock that starts at 0), and again when asked for a fresh copy', async () => {
    let t = 0;
    const s = store();
    s.boards.set('b', board('b', 'u1'));
    const directory = new BoardDirectory(s.store, 1_000, () => t);
    const first = await directory.get(scope, 'b');
    assert.equal((await directory.get(scope, 'b')).board.uid, 'u1');
    assert.equal(s.lookups(), 1);
    t = 1_001;
    const reloaded = await directory.get(scope, 'b');
    assert.equal(s.lookups(), 2, 'expired after its ttl');
    assert.equal(reloaded.loadedAt, 1_001);
    assert.equal(reloaded.schedule, first.schedule, 'the same board keeps its parsed schedule');
    await directory.get(scope, 'b', true);
    assert.equal(s.lookups(), 3);
    directory.forget(scope, 'b');
    await directory.get(scope, 'b');
    assert.equal(s.lookups(), 4);
  });

  it('refresh: null for the same board, the new one when recreated, 404 when gone', async () => {
    const s = store();
    s.boards.set('b', board('b', 'u1'));
    const directory = new BoardDirectory(s.store, 60_000);
    const known = await directory.get(scope, 'b');
    assert.equal(await directory.refresh(scope, known), null);
    s.boards.set('b', board('b', 'u2'));
    const recreated = await directory.refresh(scope, known);
    assert.equal(recreated?.board.uid, 'u2');
    assert.notEqual(recreated.schedule, known.schedule, 'a recreated board gets its own schedule');
    assert.equal((await directory.get(scope, 'b')).board.uid, 'u2', 'and it is what is cached now');
    s.boards.delete('b');
    await assert.rejects(directory.refresh(scope, recreated), { status: 404 });
    s.boards.set('b', board('b', 'u3'));
    assert.equal((await directory.get(scope, 'b')).board.uid, 'u3', 'a 404 leaves nothing cached');
  });

  it('with a ttl of 0 caches nothing', async () => {
    const s = store();
    s.boards.set('b', board('b', 'u1', null));
    const directory = new BoardDirectory(s.store, 0);
    await directory.get(scope, 'b');
    await directory.get(scope, 'b');
    assert.equal(s.lookups(), 2);
  });
});
