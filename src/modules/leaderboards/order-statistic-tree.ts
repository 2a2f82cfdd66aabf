/**
 * An order-statistic B+tree over fixed-width keys of KEY_WORDS unsigned 32-bit words, compared word by word.
 * Insert, remove, rank (how many keys are smaller) and select (the key at a rank) are O(log n): every
 * inner node keeps the size of each child, so ranks are summed on the way down.
 *
 * Why this shape: at 10M entries an object per entry (a skip list, a treap) costs gigabytes of heap and long
 * GC pauses. Here keys live in typed arrays inside leaves of up to LEAF_CAPACITY entries, so 10M entries are
 * ~100k leaf objects and a few hundred MB of off-heap memory, and the GC has almost nothing to trace.
 */
export const KEY_WORDS = 8;
const LEAF_CAPACITY = 128;
const INNER_CAPACITY = 64;
/** A node this small is merged into a neighbour when the two fit in one. */
const LEAF_MIN = LEAF_CAPACITY / 4;
const INNER_MIN = INNER_CAPACITY / 4;

type Key = Uint32Array;

class Leaf {
  readonly keys = new Uint32Array(LEAF_CAPACITY * KEY_WORDS);
  size = 0;
  next: Leaf | null = null;
}

class Inner {
  readonly children: TreeNode[] = [];
  readonly counts: number[] = [];
  /** separators[i] (i ≥ 1) is a lower bound of child i: keys of child i are ≥ it and < separators[i + 1]. */
  readonly separators = new Uint32Array((INNER_CAPACITY + 1) * KEY_WORDS);
  size = 0;
}

type TreeNode = Leaf | Inner;

/** Compares key a at word offset ao with key b at offset bo. */
function compare(a: Key, ao: number, b: Key, bo: number): number {
  for (let w = 0; w < KEY_WORDS; w++) {
    const x = a[ao + w]!;
    const y = b[bo + w]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** The first position in a leaf whose key is ≥ key. */
function lowerBound(leaf: Leaf, key: Key): number {
  let lo = 0;
  let hi = leaf.size;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compare(leaf.keys, mid * KEY_WORDS, key, 0) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The child of an inner node that holds (or would hold) key. */
function route(node: Inner, key: Key): number {
  let lo = 1;
  let hi = node.children.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compare(node.separators, mid * KEY_WORDS, key, 0) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

const sizeOf = (node: TreeNode): number => node.size;

function firstKey(node: TreeNode): Key {
  let current = node;
  while (current instanceof Inner) current = current.children[0]!;
  return current.keys.subarray(0, KEY_WORDS);
}

export interface Cursor {
  leaf: Leaf;
  index: number;
}

export class OrderStatisticTree {
  private root: TreeNode = new Leaf();

  get size(): number {
    return this.root.size;
  }

  /** Levels from the root to the leaves (1 for a lone leaf): every operation visits this many nodes. */
  get depth(): number {
    let levels = 1;
    for (let node = this.root; node instanceof Inner; node = node.children[0]!) levels++;
    return levels;
  }

  /** How many keys are smaller than key (its 0-based rank when present). */
  rank(key: Key): number {
    let node = this.root;
    let before = 0;
    while (node instanceof Inner) {
      const child = route(node, key);
      for (let i = 0; i < child; i++) before += node.counts[i]!;
      node = node.children[child]!;
    }
    return before + lowerBound(node, key);
  }

  /** Where the key at 0-based rank `index` is, or null past the end. */
  select(index: number): Cursor | null {
    if (index < 0 || index >= this.root.size) return null;
    let node = this.root;
    let left = index;
    while (node instanceof Inner) {
      let child = 0;
      while (left >= node.counts[child]!) left -= node.counts[child++]!;
      node = node.children[child]!;
    }
    return { leaf: node, index: left };
  }

  /** Calls fn with up to `count` keys (as views into the tree: copy what you keep) from rank `start` on. */
  forEach(start: number, count: number, fn: (keys: Key, offset: number, rank: number) => void): void {
    const cursor = this.select(start);
    if (!cursor) return;
    let { leaf, index } = cursor;
    for (let done = 0; done < count; done++) {
      while (index >= leaf.size) {
        if (!leaf.next) return;
        leaf = leaf.next;
        index = 0;
      }
      fn(leaf.keys, index * KEY_WORDS, start + done);
      index++;
    }
  }

  /** Inserts a key that is not present (keys are unique: the caller guarantees it). */
  insert(key: Key): void {
    const split = this.insertInto(this.root, key);
    if (split) {
      const root = new Inner();
      root.children.push(this.root, split);
      root.counts.push(sizeOf(this.root), sizeOf(split));
      root.separators.set(firstKey(split), KEY_WORDS);
      root.size = this.root.size + split.size;
      this.root = root;
    }
  }

  /** Removes a key; false when it was not there. */
  remove(key: Key): boolean {
    const removed = this.removeFrom(this.root, key);
    if (this.root instanceof Inner && this.root.children.length === 1) this.root = this.root.children[0]!;
    return removed;
  }

  private insertInto(node: TreeNode, key: Key): TreeNode | null {
    if (node instanceof Leaf) return this.insertIntoLeaf(node, key);
    const child = route(node, key);
    const split = this.insertInto(node.children[child]!, key);
    node.size++;
    if (!split) {
      node.counts[child]!++;
      return null;
    }
    node.counts[child] = sizeOf(node.children[child]!);
    node.children.splice(child + 1, 0, split);
    node.counts.splice(child + 1, 0, sizeOf(split));
    const at = (child + 1) * KEY_WORDS;
    node.separators.copyWithin(at + KEY_WORDS, at, node.children.length * KEY_WORDS);
    node.separators.set(firstKey(split), at);
    return node.children.length > INNER_CAPACITY ? this.splitInner(node) : null;
  }

  private insertIntoLeaf(leaf: Leaf, key: Key): Leaf | null {
    let target = leaf;
    let split: Leaf | null = null;
    if (leaf.size === LEAF_CAPACITY) {
      split = new Leaf();
      const half = LEAF_CAPACITY >>> 1;
      split.keys.set(leaf.keys.subarray(half * KEY_WORDS, LEAF_CAPACITY * KEY_WORDS));
      split.size = LEAF_CAPACITY - half;
      leaf.size = half;
      split.next = leaf.next;
      leaf.next = split;
      if (compare(key, 0, split.keys, 0) >= 0) target = split;
    }
    const position = lowerBound(target, key);
    const at = position * KEY_WORDS;
    target.keys.copyWithin(at + KEY_WORDS, at, target.size * KEY_WORDS);
    target.keys.set(key.subarray(0, KEY_WORDS), at);
    target.size++;
    return split;
  }

  private splitInner(node: Inner): Inner {
    const right = new Inner();
    const half = node.children.length >>> 1;
    right.children.push(...node.children.splice(half));
    right.counts.push(...node.counts.splice(half));
    // The right node's separators start at its second child; its first child's bound is the parent's.
    right.separators.set(node.separators.subarray(half * KEY_WORDS, (half + right.children.length) * KEY_WORDS));
    right.size = right.counts.reduce((sum, n) => sum + n, 0);
    node.size -= right.size;
    return right;
  }

  private removeFrom(node: TreeNode, key: Key): boolean {
    if (node instanceof Leaf) {
      const position = lowerBound(node, key);
      if (position >= node.size || compare(node.keys, position * KEY_WORDS, key, 0) !== 0) return false;
      const at = position * KEY_WORDS;
      node.keys.copyWithin(at, at + KEY_WORDS, node.size * KEY_WORDS);
      node.size--;
      return true;
    }
    const child = route(node, key);
    if (!this.removeFrom(node.children[child]!, key)) return false;
    node.counts[child]!--;
    node.size--;
    this.rebalance(node, child);
    return true;
  }

  /** Merges a child that became small into a neighbour when both fit in one node. */
  private rebalance(parent: Inner, index: number): void {
    const child = parent.children[index]!;
    const small = child instanceof Leaf ? child.size < LEAF_MIN : child.children.length < INNER_MIN;
    if (!small || parent.children.length < 2) return;
    const left = index > 0 ? index - 1 : index;
    const a = parent.children[left]!;
    const b = parent.children[left + 1]!;
    if (a instanceof Leaf && b instanceof Leaf) {
      if (a.size + b.size > LEAF_CAPACITY) return;
      a.keys.set(b.keys.subarray(0, b.size * KEY_WORDS), a.size * KEY_WORDS);
      a.size += b.size;
      a.next = b.next;
    } else if (a instanceof Inner && b instanceof Inner) {
      if (a.children.length + b.children.length > INNER_CAPACITY) return;
      const at = a.children.length * KEY_WORDS;
      // b's first child is bounded by b's separator in the parent; the rest keep their own.
      a.separators.set(parent.separators.subarray((left + 1) * KEY_WORDS, (left + 2) * KEY_WORDS), at);
      a.separators.set(b.separators.subarray(KEY_WORDS, b.children.length * KEY_WORDS), at + KEY_WORDS);
      a.children.push(...b.children);
      a.counts.push(...b.counts);
      a.size += b.size;
    } else {
      return;
    }
    parent.counts[left] = a.size;
    parent.children.splice(left + 1, 1);
    parent.counts.splice(left + 1, 1);
    const at = (left + 1) * KEY_WORDS;
    parent.separators.copyWithin(at, at + KEY_WORDS, (parent.children.length + 1) * KEY_WORDS);
  }
}
