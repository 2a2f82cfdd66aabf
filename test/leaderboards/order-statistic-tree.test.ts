/** The in-process index's tree: ranks and selections stay exact through many splits and merges. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KEY_WORDS, OrderStatisticTree } from '../../src/modules/leaderboards/order-statistic-tree.js';

/** A key whose order is that of `n` (in the last words) with a shared prefix, so every word is compared. */
function keyOf(n: number): Uint32Array {
  const key = new Uint32Array(KEY_WORDS);
  key[0] = 7;
  key[KEY_WORDS - 2] = Math.floor(n / 2 ** 32);
  key[KEY_WORDS - 1] = n >>> 0;
  return key;
}

const valueAt = (tree: OrderStatisticTree, rank: number): number | undefined => {
  let value: number | undefined;
  tree.forEach(rank, 1, (keys, offset) => (value = keys[offset + KEY_WORDS - 2]! * 2 ** 32 + keys[offset + KEY_WORDS - 1]!));
  return value;
};

describe('order-statistic tree', () => {
  it('ranks and selects exactly through random inserts and removals (many splits and merges)', () => {
    const tree = new OrderStatisticTree();
    const present = new Set<number>();
    let seed = 7;
    const random = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    for (let step = 0; step < 60_000; step++) {
      const value = random(40_000) * 131_071; // spread over more than 32 bits
      // Grow for a while, then shrink, so both splits and merges happen at every level.
      const removing = step > 30_000 ? random(3) !== 0 : random(4) === 0;
      if (removing && present.has(value)) {
        assert.ok(tree.remove(keyOf(value)));
        present.delete(value);
      } else if (!present.has(value)) {
        tree.insert(keyOf(value));
        present.add(value);
      } else {
        assert.equal(tree.remove(keyOf(value + 1)), false, 'removing an absent key is a no-op');
      }
    }
    const sorted = [...present].sort((a, b) => a - b);
    assert.equal(tree.size, sorted.length);
    for (let i = 0; i < sorted.length; i += 97) {
      assert.equal(tree.rank(keyOf(sorted[i]!)), i);
      assert.equal(valueAt(tree, i), sorted[i]);
    }
    assert.equal(tree.rank(keyOf(Number.MAX_SAFE_INTEGER)), sorted.length);
    const all: number[] = [];
    tree.forEach(0, sorted.length + 5, (keys, offset) => all.push(keys[offset + KEY_WORDS - 2]! * 2 ** 32 + keys[offset + KEY_WORDS - 1]!));
    assert.deepEqual(all, sorted);
  });

  it('empties completely and is usable again', () => {
    const tree = new OrderStatisticTree();
    for (let i = 0; i < 5_000; i++) tree.insert(keyOf(i));
    for (let i = 0; i < 5_000; i++) assert.ok(tree.remove(keyOf(i)));
    assert.equal(tree.size, 0);
    assert.equal(tree.select(0), null);
    tree.insert(keyOf(3));
    assert.equal(tree.rank(keyOf(3)), 0);
    assert.equal(valueAt(tree, 0), 3);
  });

  it("stays shallow at a million entries (O(log n) per operation; the memory rank index's speed is measured in bench/leaderboards.ts)", () => {
    const tree = new OrderStatisticTree();
    const n = 1_000_000;
    for (let i = 0; i < n; i++) tree.insert(keyOf((i * 2_654_435_761) % 4_294_967_291));
    assert.equal(tree.size, n);
    // Leaves hold 32 to 128 keys and inner nodes 16 to 64 children: a million keys take at most 5 levels
    // (a tree that degenerated towards a list would take thousands).
    assert.ok(tree.depth <= 5, `depth ${tree.depth}`);
    for (let i = 0; i < 1_000; i++) {
      const value = (i * 2_654_435_761) % 4_294_967_291;
      assert.equal(valueAt(tree, tree.rank(keyOf(value))), value, 'the key at rank(k) is k');
    }
  });
});
