/**
 * The fan-out contract, run over every implementation: memory (one node) always; Redis with two nodes when
 * REDIS_URL is set, and always in CI (where a missing Redis fails rather than skips). For Redis each run has
 * its own key root and namespace, and the two nodes are separate connections, as two servers would be.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Fanout } from '../../src/internal/fanout/fanout.js';
import { MemoryFanout } from '../../src/internal/fanout/memory.js';
import { RedisFanout } from '../../src/internal/fanout/redis.js';
import { eventually } from '../support/eventually.js';

const REDIS_URL = process.env.REDIS_URL;
const redisSkip: string | false = REDIS_URL || process.env.CI ? false : 'REDIS_URL not set';

interface Backend {
  name: string;
  skip: string | false;
  /** Two nodes that share the broker (the same object twice for memory). */
  open(): Promise<[Fanout, Fanout]>;
  close(): Promise<void>;
}

const topic = (label: string) => `{1}:2:${label}:${randomBytes(4).toString('hex')}`;

function memoryBackend(): Backend {
  let fanout: MemoryFanout | undefined;
  return {
    name: 'memory',
    skip: false,
    async open() {
      fanout = new MemoryFanout();
      return [fanout, fanout];
    },
    close: async () => fanout?.close(),
  };
}

function redisBackend(): Backend {
  const root = `ggscale-test:${randomBytes(6).toString('hex')}:`;
  const namespace = randomBytes(8).toString('hex');
  const nodes: RedisFanout[] = [];
  return {
    name: 'redis',
    skip: redisSkip,
    async open() {
      const make = () => new RedisFanout({ url: REDIS_URL!, root, namespace: async () => namespace });
      nodes.push(make(), make());
      return [nodes[0]!, nodes[1]!];
    },
    close: async () => {
      await Promise.all(nodes.map((node) => node.close()));
    },
  };
}

for (const backend of [memoryBackend(), redisBackend()]) {
  describe(`fan-out contract: ${backend.name}`, { skip: backend.skip }, () => {
    let a: Fanout;
    let b: Fanout;
    before(async () => {
      [a, b] = await backend.open();
    });
    after(() => backend.close());

    it('delivers a published message to every handler of the topic, on every node', async () => {
      const name = topic('t');
      const heard: string[] = [];
      await a.subscribe(name, (message) => heard.push(`a:${message}`));
      await b.subscribe(name, (message) => heard.push(`b:${message}`));
      await a.publish(name, 'hello');
      await eventually(() => heard.length === 2, 5_000, 'both handlers hear the message');
      assert.deepEqual(heard.sort(), ['a:hello', 'b:hello']);
    });

    it('keeps the publish order of one publisher on one topic', async () => {
      const name = topic('order');
      const heard: number[] = [];
      await b.subscribe(name, (message) => heard.push(Number(message)));
      for (let i = 0; i < 200; i++) void a.publish(name, String(i));
      await eventually(() => heard.length === 200, 5_000, () => `200 messages (heard ${heard.length})`);
      assert.deepEqual(heard, [...Array(200).keys()]);
    });

    it('sends nothing to other topics, and nothing after the unsubscribe has settled', async () => {
      const [one, two] = [topic('one'), topic('two')];
      const heard: string[] = [];
      const stop = await b.subscribe(one, (message) => heard.push(message));
      await b.subscribe(two, () => heard.push('wrong topic'));
      await a.publish(one, 'first');
      await eventually(() => heard.length === 1, 5_000, 'the first message');
      await stop();
      await a.publish(one, 'after unsubscribe');
      await a.publish(two, 'x');
      await eventually(() => heard.includes('wrong topic'), 5_000, 'the other topic still delivers');
      assert.deepEqual(heard, ['first', 'wrong topic']);
    });

    it('keeps a topic while another handler of this node still holds it', async () => {
      const name = topic('shared');
      const heard: string[] = [];
      const stopFirst = await b.subscribe(name, () => heard.push('first'));
      await b.subscribe(name, () => heard.push('second'));
      await stopFirst();
      await a.publish(name, 'm');
      await eventually(() => heard.length === 1, 5_000, 'the remaining handler hears it');
      assert.deepEqual(heard, ['second']);
    });

    it('a handler that throws does not stop the others', async () => {
      const name = topic('throws');
      const heard: string[] = [];
      await b.subscribe(name, () => {
        throw new Error('handler bug');
      });
      await b.subscribe(name, (message) => heard.push(message));
      await a.publish(name, 'still delivered');
      await eventually(() => heard.length === 1, 5_000, 'the second handler');
    });

    it('counts the topics this node is subscribed to', async () => {
      const before = b.topicCount;
      const stop = await b.subscribe(topic('count'), () => undefined);
      assert.equal(b.topicCount, before + 1);
      await stop();
      assert.equal(b.topicCount, before);
    });
  });
}

describe('fan-out on redis: a node subscribes only to the topics it needs', { skip: redisSkip }, () => {
  const root = `ggscale-test:${randomBytes(6).toString('hex')}:`;
  const namespace = randomBytes(8).toString('hex');
  let node: RedisFanout;
  let admin: Redis;
  before(() => {
    node = new RedisFanout({ url: REDIS_URL!, root, namespace: async () => namespace });
    admin = new Redis(REDIS_URL!);
  });
  after(async () => {
    await node.close();
    admin.disconnect();
  });

  it('SUBSCRIBEs at the first handler and UNSUBSCRIBEs after the last, under the deployment namespace', async () => {
    const name = topic('channels');
    const channel = `${root}${namespace}:${name}`;
    const subscribed = async () => ((await admin.pubsub('NUMSUB', channel)) as [string, number])[1];
    const stop = await node.subscribe(name, () => undefined);
    await eventually(async () => (await subscribed()) === 1, 5_000, 'the channel has this node as subscriber');
    await stop();
    await eventually(async () => (await subscribed()) === 0, 5_000, 'the node left the channel');
  });

  it('reports a gap once its subscriptions are back after the connection dropped, and delivers again', async () => {
    const name = topic('gap');
    const heard: string[] = [];
    let gaps = 0;
    node.onGap(() => gaps++);
    await node.subscribe(name, (message) => heard.push(message));
    const clients = (await admin.client('LIST')) as string;
    const subscriber = clients.split('\n').find((line) => line.includes(`name=${root}fanout-sub`));
    assert.ok(subscriber, 'the fan-out subscriber connection is named');
    const id = /\bid=(\d+)/.exec(subscriber)![1]!;
    await admin.client('KILL', 'ID', id);
    await eventually(() => gaps === 1, 10_000, 'the gap is reported after the reconnect');
    const publisher = new RedisFanout({ url: REDIS_URL!, root, namespace: async () => namespace });
    try {
      await eventually(async () => {
        await publisher.publish(name, 'after').catch(() => undefined);
        return heard.includes('after');
      }, 10_000, 'messages flow again', { everyMs: 100 });
    } finally {
      await publisher.close();
    }
  });

  it('a subscribe refused while the namespace is unknown leaves nothing behind: the next one subscribes', async () => {
    let known = false;
    const starting = new RedisFanout({
      url: REDIS_URL!,
      root,
      namespace: async () => {
        if (!known) throw new Error('The database is starting.');
        return namespace;
      },
    });
    try {
      const name = topic('starting');
      const channel = `${root}${namespace}:${name}`;
      await assert.rejects(starting.subscribe(name, () => undefined), /starting/);
      assert.equal(starting.topicCount, 0);
      known = true;
      await starting.subscribe(name, () => undefined);
      await eventually(async () => ((await admin.pubsub('NUMSUB', channel)) as [string, number])[1] === 1, 5_000, 'subscribed on the second try');
    } finally {
      await starting.close();
    }
  });
});
