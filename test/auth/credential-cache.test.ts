/**
 * CredentialCache on a clock the test sets: a decision is trusted for its ttl and no longer, the cache stays
 * within its bound, and revocations (deleteWhere) and reconnects (clear) drop what they match.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CredentialCache } from '../../src/modules/auth/credential-cache.js';

describe('CredentialCache', () => {
  it('keeps an entry for its ttl, then forgets it (on a clock that starts at 0)', () => {
    let t = 0;
    const cache = new CredentialCache<string>(10, () => t);
    cache.set('k', 'v', 100);
    assert.equal(cache.get('k'), 'v');
    t = 100;
    assert.equal(cache.get('k'), 'v', 'still trusted at the end of its ttl');
    t = 101;
    assert.equal(cache.get('k'), undefined, 'expired');
    t = 50;
    assert.equal(cache.get('k'), undefined, 'an expired entry is gone, not merely hidden');
  });

  it('each entry has its own ttl, and a ttl of 0 or less keeps nothing (and drops what was there)', () => {
    let t = 1_000;
    const cache = new CredentialCache<string>(10, () => t);
    cache.set('short', 'a', 10);
    cache.set('long', 'b', 1_000);
    cache.set('none', 'c', 0);
    assert.equal(cache.get('none'), undefined);
    cache.set('long', 'b', -5);
    assert.equal(cache.get('long'), undefined, 'an expired decision replaces the cached one');
    t += 11;
    assert.equal(cache.get('short'), undefined);
  });

  it('holds at most maxEntries, making room by the least recently used', () => {
    const cache = new CredentialCache<number>(3);
    for (const key of ['a', 'b', 'c']) cache.set(key, 1, 60_000);
    assert.equal(cache.get('a'), 1); // a is now the most recently used
    cache.set('d', 1, 60_000);
    assert.equal(cache.get('b'), undefined, 'the least recently used made room');
    assert.deepEqual(['a', 'c', 'd'].map((key) => cache.get(key)), [1, 1, 1]);
  });

  it('deleteWhere removes the live entries whose value matches and counts them; delete and clear drop entries', () => {
    let t = 1;
    const cache = new CredentialCache<{ keyId: string }>(100, () => t);
    for (let i = 0; i < 10; i++) cache.set(`k${i}`, { keyId: i % 2 === 0 ? 'revoked' : 'kept' }, 1_000);
    assert.equal(cache.deleteWhere((value) => value.keyId === 'revoked'), 5);
    assert.deepEqual(
      Array.from({ length: 10 }, (_, i) => cache.get(`k${i}`)?.keyId),
      Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? undefined : 'kept')),
    );
    cache.delete('k1');
    assert.equal(cache.get('k1'), undefined);
    cache.clear();
    assert.equal(cache.get('k3'), undefined);
    t += 1;
    assert.equal(cache.deleteWhere(() => true), 0);
  });
});
