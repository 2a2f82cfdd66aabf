/**
 * The cache contract, pub/sub: messages reach every node's subscribers of their channel, never inside the
 * publisher's call. Then Redis's own subscription life: re-subscribing after a dropped connection (telling
 * onResubscribe listeners) and a subscription that is live once subscribe() resolves on a fresh instance.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eventually } from '../../support/eventually.js';
import { cacheContract, key, killClients, RedisRun, redisSkip } from './backends.js';

cacheContract('pub/sub', ({ first, last }) => {
  it('delivers a published message to subscribers, across nodes, per channel', async () => {
    const channel = key('chan');
    const got: string[] = [];
    const other: string[] = [];
    await first().subscribe(channel, (m) => got.push(m));
    await first().subscribe(`${channel}:other`, (m) => other.push(m));
    await last().publish(channel, 'hello');
    await eventually(async () => got.length === 1, 5_000, 'the message');
    assert.deepEqual(got, ['hello']);
    assert.deepEqual(other, []);
  });

  it('delivers asynchronously, never inside publish', async () => {
    const channel = key('async');
    const got: string[] = [];
    await first().subscribe(channel, (m) => got.push(m));
    const published = first().publish(channel, 'x');
    assert.deepEqual(got, []);
    await published;
    await eventually(async () => got.length === 1, 5_000, 'the message');
  });
});

describe('redis: subscriptions', { skip: redisSkip }, () => {
  const run = new RedisRun();
  after(() => run.cleanup());

  it('re-subscribes after the subscriber connection drops and tells onResubscribe listeners', async () => {
    const p = `${run.prefix}resub:`;
    const [sub, pub] = await Promise.all([run.ready({ keyPrefix: p }), run.ready({ keyPrefix: p })]);
    let resubscribed = 0;
    sub.onResubscribe(() => resubscribed++);
    const got: string[] = [];
    await sub.subscribe('inval', (m) => got.push(m));
    await pub.publish('inval', 'before');
    await eventually(async () => got.length === 1, 5_000, 'the first message');
    assert.equal(resubscribed, 0, 'the first connection is not a re-subscription');

    assert.ok((await killClients(run.admin, `${p}sub`)) >= 1, 'killed the subscriber connection');
    await eventually(async () => resubscribed === 1, 5_000, 'onResubscribe');
    await pub.publish('inval', 'after');
    await eventually(async () => got.length === 2, 5_000, 'a message after re-subscribing');
    assert.deepEqual(got, ['before', 'after']);
    await Promise.all([sub.close(), pub.close()]);
  });

  it('subscribe() on a fresh instance is live when it resolves', async () => {
    const p = `${run.prefix}fresh:`;
    const pub = await run.ready({ keyPrefix: p });
    const sub = run.cache({ keyPrefix: p }); // still connecting
    const got: string[] = [];
    await sub.subscribe('c', (m) => got.push(m));
    await pub.publish('c', 'first');
    await eventually(async () => got.length === 1, 5_000, 'the message');
    await Promise.all([sub.close(), pub.close()]);
  });
});
