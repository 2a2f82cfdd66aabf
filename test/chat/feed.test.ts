/**
 * The channel feed (the per-node sequencer of channel topics) against the store: messages in seq order with
 * nothing skipped when the fan-out delivers them out of order or loses some (the gap is read from the store
 * first, holes left by deletes included), duplicates dropped, other events passed through, a resync after a
 * fan-out outage reading everything after the last delivered seq, and where a session starts.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../src/internal/telemetry/logger.js';
import type { RealtimeEvent } from '../../src/modules/realtime/api.js';
import type { ChatMessage } from '../../src/modules/chat/api.js';
import { channelTopic } from '../../src/modules/chat/channel-id.js';
import { ChannelFeed, messageEvent } from '../../src/modules/chat/channel-feed.js';
import { MessageStore } from '../../src/modules/chat/message-store.js';
import { LogCapture } from '../support/app.js';
import { databaseKinds } from '../support/db.js';
import type { TestProject } from '../support/tenancy.js';
import { projectWithPlayers, startSuite, type Suite } from './helpers.js';

const quietLogger = createLogger({ level: 'warn', destination: new LogCapture() });
const seqsOf = (events: readonly RealtimeEvent[]) => events.map((event) => (event.op === 'channel.message' ? (event.message as ChatMessage).seq : event.op));

for (const kind of databaseKinds()) {
  describe(`chat channel feed (${kind.name})`, () => {
    let s: Suite;
    let project: TestProject;
    let sender: string;
    let store: MessageStore;

    before(async () => {
      s = await startSuite(kind);
      const made = await projectWithPlayers(s, 1);
      project = made.project;
      sender = made.players[0]!.playerId;
      store = new MessageStore(s.database.db);
    });
    after(() => s.close());

    const scope = () => ({ tenantId: project.tenantId, projectId: project.projectId });
    /** Stores messages and answers their live events (as a send publishes them). */
    const append = async (channel: string, count: number): Promise<RealtimeEvent[]> => {
      const events: RealtimeEvent[] = [];
      for (let i = 0; i < count; i++) {
        const stored = await s.database.db.withTenant(scope(), (tx) => store.append(tx, scope(), channel, sender, { text: `x${i}` }));
        events.push(messageEvent({ channel, seq: stored.seq, sender_id: sender, username: null, text: `x${i}`, created_at: stored.createdAt }));
      }
      return events;
    };

    it('fills a gap from the store before a later message, and drops what it already delivered', async () => {
      const feed = new ChannelFeed(store, quietLogger);
      const topic = channelTopic(scope(), 'room:gaps');
      feed.startAt(topic, 0, true);
      const events = await append('room:gaps', 6);
      assert.deepEqual(seqsOf(await feed.accept(topic, events[0]!)), [1]);
      // 5 arrives before 2, 3 and 4: they are read first.
      assert.deepEqual(seqsOf(await feed.accept(topic, events[4]!)), [2, 3, 4, 5]);
      for (const late of [events[1]!, events[2]!, events[3]!, events[4]!]) assert.deepEqual(seqsOf(await feed.accept(topic, late)), []);
      assert.deepEqual(seqsOf(await feed.accept(topic, events[5]!)), [6]);
      // Other events pass through at once.
      assert.deepEqual(seqsOf(await feed.accept(topic, { op: 'channel.presence', channel: 'room:gaps', joins: [], leaves: [] })), ['channel.presence']);
    });

    it('a deleted message is a hole the fill steps over', async () => {
      const feed = new ChannelFeed(store, quietLogger);
      const topic = channelTopic(scope(), 'room:holes');
      feed.startAt(topic, 0, true);
      const events = await append('room:holes', 4);
      assert.ok(await store.remove(scope(), 'room:holes', 2, null));
      assert.deepEqual(seqsOf(await feed.accept(topic, events[3]!)), [1, 3, 4]);
    });

    it('resync reads everything after the last delivered seq; a node without a position starts at the first event', async () => {
      const feed = new ChannelFeed(store, quietLogger);
      const topic = channelTopic(scope(), 'room:resync');
      assert.deepEqual(await feed.resync(topic), [], 'nothing to resync before any position');
      const events = await append('room:resync', 2);
      assert.deepEqual(seqsOf(await feed.accept(topic, events[1]!)), [2], 'no position: this event starts it');
      await append('room:resync', 3);
      assert.deepEqual(seqsOf(await feed.resync(topic)), [3, 4, 5]);
      assert.deepEqual(seqsOf(await feed.resync(topic)), []);
    });

    it("a session's start moves the node's position only when it has none or nobody else listens", async () => {
      const feed = new ChannelFeed(store, quietLogger);
      const topic = channelTopic(scope(), 'room:start');
      const events = await append('room:start', 3);
      feed.startAt(topic, 1, true);
      feed.startAt(topic, 3, false); // others listen: 2 and 3 may still be on their way to them
      assert.deepEqual(seqsOf(await feed.accept(topic, events[1]!)), [2]);
      feed.startAt(topic, 3, true);
      assert.deepEqual(seqsOf(await feed.accept(topic, events[2]!)), [], 'alone at 3: 3 was in the join reply');
      // The other project's channel of the same name is not read by this topic.
      const other = await projectWithPlayers(s, 0);
      assert.notEqual(channelTopic({ tenantId: other.project.tenantId, projectId: other.project.projectId }, 'room:start'), topic);
    });
  });
}
