/**
 * Channel membership in the cache backend: a player's first session joins and its last one leaves, a full
 * channel refuses a new player (not one already in), members are listed once per player, and leases that
 * are not renewed (their node died) expire while renewed ones stay.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryCache } from '../../src/internal/cache/memory.js';
import { Membership } from '../../src/modules/chat/membership.js';

const scope = { tenantId: '1', projectId: '2' };

describe('chat membership', () => {
  it('first and last sessions, the cap by player, one listing per player', async () => {
    const cache = new MemoryCache();
    const members = new Membership(cache);
    assert.equal(await members.join(scope, 'room:a', '10', 's1', 2), 'first');
    assert.equal(await members.join(scope, 'room:a', '10', 's1', 2), 'first', 'the same session again is still the only one');
    assert.equal(await members.join(scope, 'room:a', '10', 's2', 2), 'again');
    assert.equal(await members.join(scope, 'room:a', '11', 's3', 2), 'first');
    assert.equal(await members.join(scope, 'room:a', '12', 's4', 2), 'full');
    assert.equal(await members.join(scope, 'room:a', '11', 's5', 2), 'again', 'a member may add sessions to a full channel');
    assert.deepEqual((await members.players(scope, 'room:a')).sort(), ['10', '11']);
    assert.equal(await members.hasSession(scope, 'room:a', '12'), false);
    assert.equal(await members.leave(scope, 'room:a', '10', 's1'), false);
    assert.equal(await members.leave(scope, 'room:a', '10', 's2'), true);
    assert.deepEqual(await members.players(scope, 'room:a'), ['11']);
    assert.equal(await members.join(scope, 'room:a', '12', 's4', 2), 'first', 'room again');
    // Another project's channel of the same name is another set.
    assert.deepEqual(await members.players({ tenantId: '1', projectId: '3' }, 'room:a'), []);
    await cache.close();
  });

  it('leases nobody renews expire; renewed ones stay', async () => {
    let now = 0;
    const cache = new MemoryCache({ now: () => now });
    const members = new Membership(cache, 1_000);
    await members.join(scope, 'room:b', '10', 's1', 10);
    await members.join(scope, 'room:b', '11', 's2', 10);
    for (let t = 500; t <= 2_000; t += 500) {
      now = t;
      await members.keepAlive(scope, 'room:b', '10', 's1');
    }
    assert.deepEqual(await members.players(scope, 'room:b'), ['10']);
    assert.equal(await members.hasSession(scope, 'room:b', '11'), false);
    await members.renew(scope, 'room:b', '11', 's2');
    assert.deepEqual((await members.players(scope, 'room:b')).sort(), ['10', '11'], 'a resumed session takes its leases again');
    await cache.close();
  });
});
