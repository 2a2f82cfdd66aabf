/**
 * The bad-input fuzzer for realtime ops: every op the running app registers (ping, presence.*, channel.*,
 * party.*, ...), sent with random members drawn from valid-looking values (this project's players, channels
 * and parties), another project's players and channels, and hostile values (SQL and path strings, numbers a
 * double gets wrong, deep nesting, wrong types, big strings). Every frame must be answered with `ok` or an
 * error frame whose status is 4xx (or a documented 503), never `internal`; the socket stays open; the log holds
 * no failed op; and the other project's data is exactly what it was.
 *
 * OP_FUZZ_SEED (printed) replays a run; OP_FUZZ_RUNS is the number of frames per op.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildTestApp, type TestApp } from '../support/app.js';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import { createPlayer, createProject, createTenant, type TestPlayer, type TestProject } from '../support/tenancy.js';
import { Client, connect, listen, realtimeUrl } from '../realtime/helpers.js';
import { HOSTILE_NUMBERS, HOSTILE_STRINGS, deepValue, toJsonText } from './support/hostile-json.js';

const SEED = Number(process.env.OP_FUZZ_SEED ?? 14_2026);
const RUNS = Number(process.env.OP_FUZZ_RUNS ?? 150);

/** Budgets lifted so frames reach the ops rather than the message and op budgets. */
const ENV = {
  WS_MESSAGES_PER_SECOND: '1000000',
  WS_MESSAGE_BURST: '1000000',
  WS_MESSAGE_REFUSALS_BEFORE_CLOSE: '0',
  WS_MAX_CONNECTIONS_PER_PLAYER: '50',
  CHAT_MESSAGES_PER_MIN: '100000',
  PRESENCE_UPDATES_PER_MIN: '100000',
  PARTY_DATA_PER_SECOND: '10000',
  RATE_LIMIT_PER_MIN: '100000000',
  SECRET_KEY_RATE_LIMIT_PER_MIN: '100000000',
};

/** Every member any op reads today; unknown members are sent too (an op must ignore or refuse them). */
const FIELDS = [
  'channel', 'text', 'data', 'history', 'player_id', 'player_ids', 'party_id', 'status', 'meta', 'max_size', 'open',
  'label', 'op_code', 'pool', 'ticket_id', 'properties', 'skill', 'region', 'x', '__proto__', 'constructor',
];

interface World {
  project: TestProject;
  players: TestPlayer[];
  victims: TestPlayer[];
  victimProject: TestProject;
  /** Parties the fuzz has created so far (frames then name them). */
  parties: string[];
}

function valueArbitrary(world: World): fc.Arbitrary<unknown> {
  const ids = [...world.players, ...world.victims].map((p) => p.playerId);
  const channels = ['room:lobby', 'room:a.b-c_d', `dm:${world.players[1]!.playerId}`, `dm:${world.victims[0]!.playerId}`, `dm:${world.victims[0]!.playerId}:${world.victims[1]!.playerId}`, 'party:1', 'group:x', 'room:', 'room:' + 'x'.repeat(65), 'dm:', 'dm:0'];
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom<unknown>(...ids, ...channels) },
    { weight: 2, arbitrary: fc.constantFrom<unknown>(ids, ids.slice(0, 1), [], Array(101).fill(ids[0])) },
    { weight: 3, arbitrary: fc.constantFrom<unknown>(...HOSTILE_STRINGS) },
    { weight: 2, arbitrary: fc.constantFrom<unknown>(...HOSTILE_NUMBERS) },
    { weight: 1, arbitrary: deepValue.filter((raw) => raw.text.length < 30_000) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
    { weight: 1, arbitrary: fc.constantFrom<unknown>(null, true, false, 0, -1, 65_536, 1.5, {}, [], 'x'.repeat(5_000), { a: 'y'.repeat(5_000) }) },
  );
}

/** Members as an op expects them, so frames get past validation into the ops' own rules. */
function plausibleArbitrary(world: World): Record<string, fc.Arbitrary<unknown>> {
  const ids = world.players.map((p) => p.playerId);
  const someId = fc.oneof(fc.constantFrom(...ids), fc.constantFrom(...world.victims.map((p) => p.playerId)));
  return {
    channel: fc.constantFrom('room:lobby', 'room:fuzz', `dm:${ids[1]}`, `dm:${ids[2]}`, `dm:${world.victims[0]!.playerId}`),
    text: fc.string({ minLength: 1, maxLength: 50 }),
    data: fc.jsonValue({ maxDepth: 3 }),
    history: fc.integer({ min: 0, max: 100 }),
    player_id: someId,
    player_ids: fc.array(someId, { minLength: 1, maxLength: 4 }),
    party_id: fc.nat().map((i) => world.parties[i % Math.max(1, world.parties.length)] ?? 'no-party-yet'),
    status: fc.constantFrom('away', 'in a match', 'online'),
    meta: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
    max_size: fc.integer({ min: 2, max: 16 }),
    open: fc.boolean(),
    label: fc.string({ maxLength: 20 }),
    op_code: fc.integer({ min: 0, max: 65_535 }),
  };
}

/** The members each op reads (ops refuse members they do not know); an op not listed gets any of them. */
const MEMBERS: Record<string, string[]> = {
  'channel.join': ['channel', 'history'],
  'channel.leave': ['channel'],
  'channel.send': ['channel', 'text', 'data'],
  'party.create': ['max_size', 'open', 'label'],
  'party.invite': ['party_id', 'player_id'],
  'party.kick': ['party_id', 'player_id'],
  'party.promote': ['party_id', 'player_id'],
  'party.join': ['party_id'],
  'party.leave': ['party_id'],
  'party.get': ['party_id'],
  'party.data': ['party_id', 'data', 'op_code'],
  'presence.update': ['status', 'meta'],
  'presence.subscribe': ['player_ids'],
  'presence.unsubscribe': ['player_ids'],
};

/** Plausible members (each present or not), and at times one or two members replaced by anything at all. */
function frameArbitrary(world: World, op: string): fc.Arbitrary<Record<string, unknown>> {
  const all = plausibleArbitrary(world);
  const members = MEMBERS[op] ?? Object.keys(all);
  const plausible = fc.record(Object.fromEntries(members.filter((m) => m in all).map((m) => [m, all[m]!])), { requiredKeys: [] });
  const broken = fc.dictionary(fc.constantFrom(...FIELDS), valueArbitrary(world), { maxKeys: 2 });
  return fc.tuple(plausible, fc.option(broken, { freq: 2 })).map(([fields, override]) => ({ ...fields, ...(override ?? {}) }));
}

for (const kind of databaseKinds()) {
  describe(`realtime op fuzz (${kind.name})`, () => {
    let database: TestDatabase;
    let t: TestApp;
    let base: string;
    let world: World;
    const sockets: Client[] = [];

    before(async () => {
      database = await kind.create();
      t = await buildTestApp({ db: database.db, env: ENV });
      base = await listen(t);
      const project = await createProject(t.app, await createTenant(t.app));
      const victimProject = await createProject(t.app, await createTenant(t.app));
      const players = [await createPlayer(t.app, project), await createPlayer(t.app, project), await createPlayer(t.app, project)];
      const victims = [await createPlayer(t.app, victimProject), await createPlayer(t.app, victimProject)];
      world = { project, players, victims, victimProject, parties: [] };
      for (const player of players.slice(0, 2)) sockets.push(await connect(realtimeUrl(base, player.accessToken)));
    });
    after(async () => {
      for (const socket of sockets) socket.ws.terminate();
      await t.close();
      await database.drop();
    });

    /** What a victim's project holds that the fuzz could reach: its players' notifications and a room's history. */
    async function victimState(): Promise<string> {
      const answers = await Promise.all([
        ...world.victims.map((victim) =>
          t.app.inject({ method: 'GET', url: `/v1/notifications?player_id=${victim.playerId}`, headers: { authorization: `Bearer ${world.victimProject.secretKey}` } }),
        ),
        t.app.inject({ method: 'GET', url: '/v1/channels/room:lobby/messages', headers: { authorization: `Bearer ${world.victimProject.secretKey}` } }),
      ]);
      return JSON.stringify(answers.map((answer) => [answer.statusCode, answer.statusCode === 200 ? answer.json<{ items: unknown }>().items : null]));
    }

    it('answers every op, whatever its members, with ok or a 4xx error frame; nothing else changes', async () => {
      const before = await victimState();
      const ops = t.provisions.realtime.opNames();
      assert.ok(ops.includes('ping') && ops.length > 1, `ops: ${ops.join(', ')}`);
      console.log(`op fuzz: seed ${SEED}, ${RUNS} frames for each of ${ops.length} ops (${ops.join(', ')})`);
      let n = 0;
      const tally = new Map<string, number>();
      for (const op of ops) {
        await fc.assert(
          fc.asyncProperty(frameArbitrary(world, op), async (fields) => {
            const socket = sockets[n % sockets.length]!;
            const id = `f${++n}`;
            const text = toJsonText({ ...fields, op, id });
            socket.send(text);
            let reply: Record<string, unknown>;
            for (;;) {
              reply = await socket.next(10_000);
              if (reply.id === id) break; // events in between are fine
            }
            const label = `${op} ${text.slice(0, 300)}`;
            const outcome = `${op} ${reply.op === 'error' ? String(reply.code) : 'ok'}`;
            const party = (reply.party as { id?: unknown } | undefined)?.id;
            if (typeof party === 'string' && !world.parties.includes(party)) world.parties.push(party);
            tally.set(outcome, (tally.get(outcome) ?? 0) + 1);
            assert.ok(['ok', 'error', 'pong'].includes(reply.op as string), `${label} → ${JSON.stringify(reply)}`);
            if (reply.op === 'error') {
              const status = reply.status as number;
              assert.ok((status >= 400 && status < 500) || (status === 503 && reply.code === 'unavailable'), `${label} → ${JSON.stringify(reply)}`);
              assert.notEqual(reply.code, 'internal', label);
            }
          }),
          { numRuns: RUNS, seed: SEED + ops.indexOf(op), endOnFailure: true },
        );
      }
      console.log(`op fuzz answers: ${[...tally].map(([outcome, count]) => `${outcome} ×${count}`).join(', ')}`);
      for (const socket of sockets) assert.equal(socket.isClosed, false, 'the sockets stay open');
      const failed = t.logs.records().filter((record) => record.msg === 'realtime op failed' || (record.level as number) >= 50);
      assert.deepEqual(failed, [], 'no op failed on the server');
      assert.equal(await victimState(), before, "the other project's data is untouched");
    });
  });
}
