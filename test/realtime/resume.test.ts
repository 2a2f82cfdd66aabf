/**
 * Resumable sessions on one node: the resume token in welcome, replay after a network loss in order with the
 * original seq and no duplicates, a new token each time (each works once), the failure reasons (unknown,
 * expired, overflow), 4002 for a connection a resume replaced, and topics and module state that survive.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp, type TestApp } from '../support/app.js';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import { createPlayer, createProject, createTenant, type TestPlayer, type TestProject } from '../support/tenancy.js';
import { attempt, Client, connect, listen, loseNetwork, realtimeUrl, refused, resumeUrl, slugOf } from './helpers.js';

const ENV = { WS_MAX_CONNECTIONS_PER_PLAYER: '50' };

const kind = databaseKinds()[0]!;

/** The members of a resumed frame this suite looks at (other modules add their own, such as `channels`). */
const ownFields = ({ op, replayed, last_seq, test_topics }: Record<string, unknown>) => ({ op, replayed, last_seq, test_topics });

describe(`realtime resumable sessions (${kind.name})`, () => {
  let database: TestDatabase;
  let t: TestApp;
  let base: string;
  let project: TestProject;
  const clients: Client[] = [];
  const open = async (url: string): Promise<Client> => {
    const client = await connect(url);
    clients.push(client);
    return client;
  };
  const send = (player: TestPlayer, n: number) =>
    t.provisions.realtime.toPlayers({ tenantId: project.tenantId, projectId: project.projectId }, [player.playerId], { op: 'test.event', n });

  before(async () => {
    database = await kind.create();
    t = await buildTestApp({ db: database.db, env: ENV });
    const realtime = t.provisions.realtime;
    realtime.registerOps({
      'test.join': (request, session) => realtime.joinTopic(session, `test:${String(request.topic)}`),
      'test.remember': (request, session) => realtime.setSessionState(session, 'test', request.value),
      'test.recall': (_request, session) => ({ value: realtime.sessionState(session, 'test') ?? null }),
    });
    realtime.resumedField('test_topics', (session) => realtime.topicsOf(session));
    realtime.resumedField('test_async', async (session) => `state ${JSON.stringify(realtime.sessionState(session, 'test') ?? null)}`);
    realtime.resumedField('test_broken', () => {
      throw new Error('cannot say');
    });
    base = await listen(t);
    project = await createProject(t.app, await createTenant(t.app));
  });
  after(async () => {
    await Promise.all(clients.filter((c) => !c.isClosed).map((client) => client.close()));
    await t.close();
    await database.drop();
  });

  it('welcome carries a resume token and the window', async () => {
    const player = await createPlayer(t.app, project);
    const client = await open(realtimeUrl(base, player.accessToken));
    assert.equal(typeof client.welcome!.resume_token, 'string');
    assert.ok((client.welcome!.resume_token as string).length >= 32);
    assert.equal(client.welcome!.resume_window_seconds, 30);
    assert.equal(client.welcome!.resumed, false);
    assert.equal(client.welcome!.reason, null);
  });

  it('after a network loss, a resume replays what was missed with the original seq, then continues live', async () => {
    const player = await createPlayer(t.app, project);
    const first = await open(realtimeUrl(base, player.accessToken));
    for (let n = 1; n <= 3; n++) await send(player, n);
    for (let n = 1; n <= 3; n++) assert.deepEqual(await first.next(), { op: 'test.event', seq: n, n });
    await loseNetwork(first);
    for (let n = 4; n <= 6; n++) await send(player, n);

    const second = await open(resumeUrl(base, player, first.welcome!.resume_token, 3));
    assert.equal(second.welcome!.resumed, true);
    assert.equal(second.welcome!.reason, null);
    assert.equal(second.welcome!.session_id, first.welcome!.session_id);
    assert.notEqual(second.welcome!.resume_token, first.welcome!.resume_token);
    for (let n = 4; n <= 6; n++) assert.deepEqual(await second.next(), { op: 'test.event', seq: n, n });
    assert.deepEqual(ownFields(await second.next()), { op: 'resumed', replayed: 3, last_seq: 6, test_topics: [] });
    await send(player, 7);
    assert.deepEqual(await second.next(), { op: 'test.event', seq: 7, n: 7 });

    // The new token resumes again, replaying from an earlier point: everything after last_seq, once.
    await loseNetwork(second);
    const third = await open(resumeUrl(base, player, second.welcome!.resume_token, 5));
    assert.deepEqual((await Promise.all([third.next(), third.next()])).map((f) => f.seq), [6, 7]);
    assert.deepEqual(ownFields(await third.next()), { op: 'resumed', replayed: 2, last_seq: 7, test_topics: [] });
  });

  it('a token works once: used again it starts a new session (reason unknown, seq from 1)', async () => {
    const player = await createPlayer(t.app, project);
    const first = await open(realtimeUrl(base, player.accessToken));
    await send(player, 1);
    await first.next();
    await loseNetwork(first);
    const resumed = await open(resumeUrl(base, player, first.welcome!.resume_token, 1));
    assert.equal(resumed.welcome!.resumed, true);
    const again = await open(resumeUrl(base, player, first.welcome!.resume_token, 1));
    assert.equal(again.welcome!.resumed, false);
    assert.equal(again.welcome!.reason, 'unknown');
    await send(player, 2);
    assert.deepEqual(await again.next(), { op: 'test.event', seq: 1, n: 2 });
  });

  it("another player's token, or a made-up one, is unknown, and leaves the owner's token working", async () => {
    const owner = await createPlayer(t.app, project);
    const stranger = await createPlayer(t.app, project);
    const first = await open(realtimeUrl(base, owner.accessToken));
    await loseNetwork(first);
    const foreign = await open(resumeUrl(base, stranger, first.welcome!.resume_token, 0));
    assert.deepEqual([foreign.welcome!.resumed, foreign.welcome!.reason], [false, 'unknown']);
    const madeUp = await open(resumeUrl(base, owner, 'x'.repeat(43), 0));
    assert.deepEqual([madeUp.welcome!.resumed, madeUp.welcome!.reason], [false, 'unknown']);
    const mine = await open(resumeUrl(base, owner, first.welcome!.resume_token, 0));
    assert.equal(mine.welcome!.resumed, true);
  });

  it('a last_seq ahead of the server, or events no longer buffered, fail with overflow', async () => {
    const player = await createPlayer(t.app, project);
    const first = await open(realtimeUrl(base, player.accessToken));
    await loseNetwork(first);
    const ahead = await open(resumeUrl(base, player, first.welcome!.resume_token, 5));
    assert.deepEqual([ahead.welcome!.resumed, ahead.welcome!.reason], [false, 'overflow']);

    await loseNetwork(ahead);
    for (let n = 1; n <= 1_001; n++) await send(player, n); // one more than WS_RESUME_BUFFER_EVENTS
    const lost = await open(resumeUrl(base, player, ahead.welcome!.resume_token, 0));
    assert.deepEqual([lost.welcome!.resumed, lost.welcome!.reason], [false, 'overflow']);
    const fromOne = await open(resumeUrl(base, player, lost.welcome!.resume_token, 0));
    assert.equal(fromOne.welcome!.resumed, true, 'the new session resumes');
  });

  it('a client that closes with 1000 ends its session: its token is unknown', async () => {
    const player = await createPlayer(t.app, project);
    const first = await open(realtimeUrl(base, player.accessToken));
    await first.close();
    await eventually(async () => {
      const probe = await open(resumeUrl(base, player, first.welcome!.resume_token, 0));
      return probe.welcome!.reason === 'unknown';
    }, 5_000, 'the token forgotten');
  });

  it('a resume while the old connection is open replaces it with 4002 (make-before-break)', async () => {
    const player = await createPlayer(t.app, project);
    const first = await open(realtimeUrl(base, player.accessToken));
    await send(player, 1);
    await first.next();
    const second = await open(resumeUrl(base, player, first.welcome!.resume_token, 1));
    assert.equal(second.welcome!.resumed, true);
    assert.equal((await first.closedWithin(5_000)).code, 4002);
    assert.deepEqual(ownFields(await second.next()), { op: 'resumed', replayed: 0, last_seq: 1, test_topics: [] });
    await send(player, 2);
    assert.deepEqual(await second.next(), { op: 'test.event', seq: 2, n: 2 });
  });

  it('joined topics and module state survive a resume', async () => {
    const player = await createPlayer(t.app, project);
    const first = await open(realtimeUrl(base, player.accessToken));
    assert.equal((await first.request({ op: 'test.join', id: 'j', topic: 'lobby' })).op, 'ok');
    assert.equal((await first.request({ op: 'test.remember', id: 'r', value: { level: 3 } })).op, 'ok');
    await t.provisions.realtime.publish('test:lobby', { op: 'test.room', n: 1 });
    assert.deepEqual(await first.next(), { op: 'test.room', seq: 1, n: 1 });
    await loseNetwork(first);
    await t.provisions.realtime.publish('test:lobby', { op: 'test.room', n: 2 });
    const second = await open(resumeUrl(base, player, first.welcome!.resume_token, 1));
    assert.deepEqual(await second.next(), { op: 'test.room', seq: 2, n: 2 });
    const resumed = await second.next();
    assert.deepEqual(ownFields(resumed), { op: 'resumed', replayed: 1, last_seq: 2, test_topics: ['test:lobby'] });
    assert.deepEqual([resumed.test_async, resumed.test_broken], ['state {"level":3}', null], 'fields may be awaited; a failing one is null');
    await t.provisions.realtime.publish('test:lobby', { op: 'test.room', n: 3 });
    assert.deepEqual(await second.next(), { op: 'test.room', seq: 3, n: 3 });
    assert.deepEqual(await second.request({ op: 'test.recall', id: 'q' }), { op: 'ok', id: 'q', value: { level: 3 } });
  });

  it('resume and last_seq go together, and are checked before the upgrade', async () => {
    const player = await createPlayer(t.app, project);
    const url = realtimeUrl(base, player.accessToken);
    for (const query of ['&resume=abc', '&last_seq=3', '&resume=abc&last_seq=-1', '&resume=abc&last_seq=x', `&resume=${'a'.repeat(513)}&last_seq=1`]) {
      const refusal = await refused(url + query);
      assert.equal(refusal.status, 400, query);
      assert.equal(slugOf(refusal), 'validation', query);
    }
  });
});

describe(`realtime resume window (${kind.name})`, () => {
  let database: TestDatabase;
  before(async () => {
    database = await kind.create();
  });
  after(() => database.drop());

  it('a session not resumed within its window ends: its token then answers expired', async () => {
    const t = await buildTestApp({ db: database.db, env: { ...ENV, WS_RESUME_WINDOW_SECONDS: '1' } });
    try {
      const base = await listen(t);
      const project = await createProject(t.app, await createTenant(t.app));
      const player = await createPlayer(t.app, project);
      const ended: string[] = [];
      t.provisions.realtime.onSessionEnd((session) => void ended.push(session.playerId));
      const first = await connect(realtimeUrl(base, player.accessToken));
      assert.equal(first.welcome!.resume_window_seconds, 1);
      await loseNetwork(first);
      await eventually(() => ended.includes(player.playerId), 10_000, 'the session ended after its window');
      const late = await connect(resumeUrl(base, player, first.welcome!.resume_token, 0));
      assert.deepEqual([late.welcome!.resumed, late.welcome!.reason], [false, 'expired']);
      await late.close();
    } finally {
      await t.close();
    }
  });

  it('a window of 0 offers no resume', async () => {
    const t = await buildTestApp({ db: database.db, env: { ...ENV, WS_RESUME_WINDOW_SECONDS: '0' } });
    try {
      const base = await listen(t);
      const project = await createProject(t.app, await createTenant(t.app));
      const player = await createPlayer(t.app, project);
      const outcome = await attempt(realtimeUrl(base, player.accessToken));
      assert.ok(outcome instanceof Client);
      const welcome = await outcome.welcomed();
      assert.equal(welcome.resume_token, null);
      assert.equal(welcome.resume_window_seconds, 0);
      await outcome.close();
    } finally {
      await t.close();
    }
  });
});

describe(`realtime draining on one node (${kind.name})`, () => {
  it('readyz says draining, upgrades are refused, each client is told to reconnect, then closed with 1012', async () => {
    const database = await kind.create();
    const t = await buildTestApp({ db: database.db, env: { ...ENV, WS_RECONNECT_SPREAD_MS: '200', WS_CLOSE_GRACE_MS: '300' } });
    try {
      const base = await listen(t);
      const project = await createProject(t.app, await createTenant(t.app));
      const player = await createPlayer(t.app, project);
      const clients = [await connect(realtimeUrl(base, player.accessToken)), await connect(realtimeUrl(base, player.accessToken))];
      assert.equal((await t.app.inject({ method: 'GET', url: '/v1/readyz' })).statusCode, 200);
      const draining = t.drain();
      const ready = await t.app.inject({ method: 'GET', url: '/v1/readyz' });
      assert.equal(ready.statusCode, 503);
      assert.equal(ready.headers['retry-after'], '1');
      assert.deepEqual(ready.json(), { status: 'draining', detail: 'The node is shutting down; its clients are moving to other nodes.' });
      const refusal = await refused(realtimeUrl(base, player.accessToken));
      assert.deepEqual([refusal.status, slugOf(refusal)], [503, 'unavailable']);
      for (const client of clients) {
        const frame = await client.next(5_000);
        assert.equal(frame.op, 'reconnect');
        assert.ok((frame.after_ms as number) >= 0 && (frame.after_ms as number) <= 200);
        const closed = await client.closedWithin(5_000);
        assert.equal(closed.code, 1012);
      }
      await draining;
      assert.equal((await t.app.inject({ method: 'GET', url: '/v1/healthz' })).statusCode, 200, 'alive while draining');
    } finally {
      await t.close();
      await database.drop();
    }
  });

  it('waits for sessions that are ending to tell the modules before it finishes', async () => {
    const database = await kind.create();
    const t = await buildTestApp({ db: database.db, env: { ...ENV, WS_RECONNECT_SPREAD_MS: '0', WS_CLOSE_GRACE_MS: '0' } });
    try {
      const base = await listen(t);
      const project = await createProject(t.app, await createTenant(t.app));
      const player = await createPlayer(t.app, project);
      let told = false;
      t.provisions.realtime.onSessionEnd(async () => {
        await new Promise((resolve) => setTimeout(resolve, 300));
        told = true;
      });
      const client = await connect(realtimeUrl(base, player.accessToken));
      await client.close();
      await t.drain();
      assert.equal(told, true, 'the session-end listener finished before the drain');
    } finally {
      await t.close();
      await database.drop();
    }
  });
});
