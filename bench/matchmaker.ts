/**
 * The matchmaker, each figure beside a baseline measured in the same run:
 *  1. pass: one pool's matcher pass over --tickets searching tickets (default 10,000; one player each, skill
 *     0–3000, a 4-player pool without teams, window 100 + 10/s), seeded in bulk straight into a throwaway
 *     PostgreSQL database: MatchStore.formAndHold with formMatches(rulesOf(pool), …), pass after pass until one
 *     holds no new group. The first pass's time (target ≤ 200 ms) split into read / form / hold, the passes
 *     needed (target ≤ 2), the matches held and the tickets matched per second, beside the same grouping done
 *     in memory by a plain sort (by skill, then consecutive groups of 4 whose spread ≤ 100), and formMatches
 *     alone on the same tickets (so SQL cost and rule cost read apart). The node is warm: formMatches and the
 *     hold path have run before (on other tickets), as on a node whose matcher runs every second.
 *  2. latency: ticket → `matchmaker.matched` on the local fleet with warm game servers (one ggscale server,
 *     MATCHMAKER_INTERVAL_MS=--interval, FLEET_LOCAL_BUFFER=8): pairs of players on realtime sockets post a
 *     ticket each (equal skill, a 2-player pool), timed from the POST to the frame, p50/p99 beside the POST's
 *     own round trip and the interval (target p99 ≤ 1.5 × interval). Each pair starts once the buffer is full,
 *     after a random delay within one interval (so tickets arrive at every phase of the matcher's timer), and
 *     its allocation is released afterwards.
 *
 * Run: node --import tsx bench/matchmaker.ts [--sections=pass,latency] [--tickets=10000] [--pairs=50] [--interval=1000]
 */
import { randomBytes } from 'node:crypto';
import { WebSocket } from 'ws';
import { PostgresDatabase } from '../src/internal/db/postgres.js';
import type { ProjectScope } from '../src/http/auth-context.js';
import { formMatches, type SearchingTicket } from '../src/modules/matchmaker/forming.js';
import { MatchStore } from '../src/modules/matchmaker/match-store.js';
import { rulesOf, settle, type PoolSettings } from '../src/modules/matchmaker/pool.js';
import { PoolStore } from '../src/modules/matchmaker/pool-store.js';
import { BENCH_ADMIN_TOKEN, call, createProject, deviceSignIn } from './support/api.js';
import { createBenchDatabase } from './support/pg.js';
import { ServerPool, waitForStatus, type ServerProcess } from './support/process.js';
import { Report, fmt, infoRow, median, throughputRow, timeRow, type Row } from './support/table.js';
import { runBench } from './support/run-bench.js';

function flag(name: string, fallback: string): string {
  const args = process.argv.slice(2);
  const inline = args.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
  const index = args.indexOf(`--${name}`);
  return inline ?? (index >= 0 ? args[index + 1] : undefined) ?? fallback;
}

const sections = flag('sections', 'pass,latency').split(',');
const ticketCount = Number(flag('tickets', '10000').replace(/_/g, ''));
const pairs = Number(flag('pairs', '50'));
const intervalMs = Number(flag('interval', '1000'));
if (sections.some((s) => s !== 'pass' && s !== 'latency')) throw new Error('--sections: pass and/or latency');
if (!Number.isInteger(ticketCount) || ticketCount < 100 || ticketCount > 20_000) {
  // One pass reads at most 20,000 tickets (match-store.ts): more would measure two passes' reads as one.
  throw new Error('--tickets: an integer from 100 to 20000');
}
if (!Number.isInteger(pairs) || pairs < 1) throw new Error('--pairs: a positive integer');
if (!Number.isInteger(intervalMs) || intervalMs < 50) throw new Error('--interval: an integer ≥ 50 (ms)');

const report = new Report('matchmaker');
const pool = new ServerPool();
const runId = randomBytes(4).toString('hex');

const PASS_TARGET_MS = 200;
const PASSES_TARGET = 2;
const MATCH_SIZE = 4;
const WINDOW_START = 100;
const GROWTH_PER_SECOND = 10;
const MAX_PASSES = 10;
const REPEATS = 5;
const ALLOCATION_TIMEOUT_SECONDS = 30;
const BENCH_POOL = 'bench';
/** A pool of its own whose pass warms the hold path (statements, JIT) before the measured one. */
const WARMUP_POOL = 'warmup';
const WARMUP_TICKETS = 4 * MATCH_SIZE;

const LATENCY_BUFFER = 8;
const LATENCY_POOL = 'duel';
const SETTLE_MS = 250;
const UNLIMITED = '100000000';

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------------------
// 1. One pool's pass
// ---------------------------------------------------------------------------------------------------------

/** The pool as the API would store it (settle fills the defaults); the row holds all but the id. */
function poolSettings(id: string): PoolSettings {
  return settle({
    id,
    fleet: 'default',
    min_players: MATCH_SIZE,
    max_players: MATCH_SIZE,
    skill: { window_start: WINDOW_START, growth_per_second: GROWTH_PER_SECOND },
    max_wait_seconds: 3_600,
  });
}

/**
 * A tenant, a project, tickets + WARMUP_TICKETS players, the two pools, and the warm-up pool's tickets (all at
 * skill 1500), in bulk through the owner connection (no API, no RLS cost). The measured pool's tickets come
 * later (seedTickets), just before its first pass, so they have waited about as long as a pass's interval.
 */
async function seedBase(db: PostgresDatabase): Promise<ProjectScope> {
  const scope = await db.operator('bench seed', async (tx) => {
    const [tenant] = await tx.query<{ id: string }>('insert into tenants (name) values ($1) returning id', [`bench-mm-${runId}`]);
    const [project] = await tx.query<{ id: string }>('insert into projects (tenant_id, name) values ($1, $2) returning id', [tenant!.id, 'bench']);
    const scope = { tenantId: String(tenant!.id), projectId: String(project!.id) };
    await tx.query('insert into players (tenant_id, project_id) select $1, $2 from generate_series(1, $3::int)', [scope.tenantId, scope.projectId, ticketCount + WARMUP_TICKETS]);
    for (const id of [BENCH_POOL, WARMUP_POOL]) {
      const { id: _id, ...rules } = poolSettings(id);
      await tx.query('insert into matchmaker_pools (tenant_id, project_id, id, rules) values ($1, $2, $3, $4::jsonb)', [scope.tenantId, scope.projectId, id, JSON.stringify(rules)]);
    }
    return scope;
  });
  await seedTickets(db, scope, WARMUP_POOL, ticketCount, WARMUP_TICKETS, '1500');
  return scope;
}

/**
 * One searching ticket (regions ["eu"], an hour to live) and its ticket-player row for each of `count` players,
 * the `skip` first of the project's players left out: insert … select generate_series. `skill` is SQL (random()
 * from a fixed seed for the measured pool). Then ANALYZE of the two tables, as autovacuum would after a load.
 */
async function seedTickets(db: PostgresDatabase, scope: ProjectScope, poolId: string, skip: number, count: number, skill: string): Promise<void> {
  await db.operator('bench seed tickets', async (tx) => {
    await tx.query('select setseed(0.42)');
    await tx.query(
      `with players_in_order as (
         select id, row_number() over (order by id) as n from players where tenant_id = $1 and project_id = $2),
       made as (
         insert into matchmaker_tickets (tenant_id, project_id, pool_id, state, players, skill, regions, expires_at)
         select $1, $2, $3, 'searching', array[p.id], ${skill}, '["eu"]'::jsonb, now() + interval '1 hour'
           from generate_series($4::int + 1, $4::int + $5::int) as g(n) join players_in_order p on p.n = g.n
          order by g.n
         returning tenant_id, project_id, id, players[1] as player_id)
       insert into matchmaker_ticket_players (tenant_id, project_id, player_id, ticket_id)
       select tenant_id, project_id, player_id, id from made`,
      [scope.tenantId, scope.projectId, poolId, skip, count],
    );
  });
  await db.operator('bench analyze', (tx) => tx.query('analyze matchmaker_tickets, matchmaker_ticket_players'));
}

interface PassFigures {
  ms: number;
  /** Up to `form` being called: the advisory lock, the clock, the select of the searching tickets. */
  readMs: number;
  /** formMatches inside the pass. */
  formMs: number;
  /** After form: the held matches inserted, their tickets claimed (one statement each), and the commit. */
  holdMs: number;
  read: number;
  formed: number;
  held: number;
}

interface Captured {
  tickets: SearchingTicket[];
  nowMs: number;
}

/** One formAndHold over `poolId`, timed by phase; the first call's tickets are kept in `capture`. */
async function timedPass(store: MatchStore, scope: ProjectScope, poolId: string, rules: ReturnType<typeof rulesOf>, capture?: { value?: Captured }): Promise<PassFigures> {
  let formStart = NaN;
  let formEnd = NaN;
  let read = 0;
  let formed = 0;
  const started = performance.now();
  const held = await store.formAndHold(scope, poolId, ALLOCATION_TIMEOUT_SECONDS, (tickets, nowMs) => {
    formStart = performance.now();
    const matches = formMatches(rules, tickets, nowMs);
    formEnd = performance.now();
    read = tickets.length;
    formed = matches.length;
    if (capture && !capture.value) capture.value = { tickets, nowMs };
    return matches;
  });
  const ended = performance.now();
  if (held === undefined) throw new Error(`the advisory lock of pool ${poolId} is held elsewhere`);
  return { ms: ended - started, readMs: formStart - started, formMs: formEnd - formStart, holdMs: ended - formEnd, read, formed, held: held.length };
}

/** The baseline: sort by skill, then cut consecutive groups of `size` whose spread is within `spread`. */
function sortAndCut(tickets: readonly SearchingTicket[], size: number, spread: number): number {
  const sorted = [...tickets].sort((a, b) => a.skill - b.skill);
  let groups = 0;
  for (let i = 0; i + size <= sorted.length; ) {
    if (sorted[i + size - 1]!.skill - sorted[i]!.skill <= spread) {
      groups++;
      i += size;
    } else i++;
  }
  return groups;
}

/** Median time of `repeats` runs after two warm-up runs; the last run's answer. */
function timeWarm<T>(repeats: number, fn: () => T): { ms: number; value: T } {
  fn();
  let value = fn();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const started = performance.now();
    value = fn();
    times.push(performance.now() - started);
  }
  return { ms: median(times), value };
}

/** Synthetic tickets like the seeded ones, to warm formMatches before the measured pass. */
function syntheticTickets(n: number, nowMs: number): SearchingTicket[] {
  return Array.from({ length: n }, (_, i) => ({
    id: String(1_000_000 + i),
    createdAtMs: nowMs,
    players: [String(i + 1)],
    skill: Math.floor(Math.random() * 3001),
    regions: ['eu'],
    properties: {},
  }));
}

/** One statement's round trip inside a tenant transaction (select 1), the median of many. */
async function statementRoundTrip(db: PostgresDatabase, scope: ProjectScope): Promise<number> {
  return db.withTenant(scope, async (tx) => {
    const times: number[] = [];
    for (let i = 0; i < 500; i++) {
      const started = performance.now();
      await tx.query('select 1');
      times.push(performance.now() - started);
    }
    return median(times.slice(50));
  });
}

async function passSection(): Promise<void> {
  const database = await createBenchDatabase();
  try {
    const db = await PostgresDatabase.open({ url: database.url, poolSize: 2, statementTimeoutMs: 600_000 });
    try {
      const scope = await seedBase(db);
      await db.operator('bench analyze', (tx) => tx.query('analyze'));
      const store = new MatchStore(db);
      const pools = new PoolStore(db);
      const benchPool = await pools.get(scope, BENCH_POOL);
      const warmupPool = await pools.get(scope, WARMUP_POOL);
      if (!benchPool || !warmupPool) throw new Error('the seeded pools are not readable in their scope');
      const rules = rulesOf(benchPool);

      // A warm node: formMatches has run on tickets of this size, the hold path on the warm-up pool's.
      for (let i = 0; i < 3; i++) formMatches(rules, syntheticTickets(ticketCount, Date.now()), Date.now());
      const warm = await timedPass(store, scope, WARMUP_POOL, rulesOf(warmupPool));
      if (warm.held !== WARMUP_TICKETS / MATCH_SIZE) throw new Error(`the warm-up pass held ${warm.held} groups, not ${WARMUP_TICKETS / MATCH_SIZE}`);
      const roundTripMs = await statementRoundTrip(db, scope);

      const seedStarted = performance.now();
      await seedTickets(db, scope, BENCH_POOL, 0, ticketCount, 'floor(random() * 3001)');
      const seedSeconds = (performance.now() - seedStarted) / 1000;

      const capture: { value?: Captured } = {};
      const passes: PassFigures[] = [];
      for (let i = 0; i < MAX_PASSES; i++) {
        const pass = await timedPass(store, scope, BENCH_POOL, rules, capture);
        passes.push(pass);
        if (pass.held === 0) break;
      }
      const first = passes[0]!;
      const { tickets, nowMs } = capture.value!;
      const productive = passes.filter((pass) => pass.held > 0).length;
      const settled = passes.at(-1)!.held === 0;
      const held = passes.reduce((sum, pass) => sum + pass.held, 0);
      const heldTickets = held * MATCH_SIZE;

      const alone = timeWarm(REPEATS, () => formMatches(rules, tickets, nowMs));
      const sorted = timeWarm(REPEATS, () => sortAndCut(tickets, MATCH_SIZE, WINDOW_START));
      if (alone.value.length !== first.formed) report.note(`WARNING formMatches alone formed ${alone.value.length} matches, the first pass ${first.formed}`);
      const firstTickets = first.held * MATCH_SIZE;
      const sortTickets = sorted.value * MATCH_SIZE;
      const waitedSeconds = Math.max(0, (nowMs - Math.min(...tickets.map((ticket) => ticket.createdAtMs))) / 1000);
      const passRate = (firstTickets / first.ms) * 1000;
      const sortRate = (sortTickets / sorted.ms) * 1000;

      const n = ticketCount.toLocaleString('en');
      report.table(`pass: one pool's pass over ${n} searching tickets (${MATCH_SIZE} players, no teams, window ${WINDOW_START} + ${GROWTH_PER_SECOND}/s; PostgreSQL, warm node)`, [
        timeRow('first pass (MatchStore.formAndHold + formMatches)', first.ms, 'formMatches alone, same tickets (warm, median of 5)', alone.ms, { maxMs: PASS_TARGET_MS }),
        {
          // A ratio this far below 1 reads better as a fraction than as 0.00×.
          ...throughputRow('tickets matched per second, first pass', passRate, `in-memory sort + cut into ${MATCH_SIZE}s of spread ≤ ${WINDOW_START} (median of 5)`, sortRate, {}, 'tickets/s'),
          ratio: `1/${(sortRate / passRate).toFixed(0)} (${(passRate / sortRate).toExponential(1)}×)`,
        },
        {
          figure: 'passes until every possible match was formed',
          value: settled ? `${productive} (pass ${passes.length} held none)` : `> ${productive} (still holding after ${MAX_PASSES})`,
          baseline: 'in-memory sort + cut',
          baselineValue: '1 (one sort)',
          ratio: '—',
          target: { text: `≤ ${PASSES_TARGET}`, met: settled && productive <= PASSES_TARGET },
        } satisfies Row,
        infoRow(
          'matches held (all passes)',
          `${held.toLocaleString('en')} (${heldTickets.toLocaleString('en')} of ${n} tickets)`,
          'in-memory sort + cut',
          `${sorted.value.toLocaleString('en')} (${sortTickets.toLocaleString('en')} tickets)`,
          fmt.ratio(held / sorted.value),
        ),
        timeRow('formMatches alone (warm, median of 5)', alone.ms, 'in-memory sort + cut (median of 5)', sorted.ms),
      ]);
      report.table(`pass: the first pass by phase (ratio: its share of the pass; ${first.held.toLocaleString('en')} groups held)`, [
        timeRow(`read: advisory lock, clock, select of ${first.read.toLocaleString('en')} searching tickets`, first.readMs, 'the whole first pass', first.ms),
        timeRow('form: formMatches inside the pass', first.formMs, 'the whole first pass', first.ms),
        timeRow('hold + commit: one insert of every group\'s held match, one claim of all their tickets', first.holdMs, 'the whole first pass', first.ms),
        timeRow('hold, per group held (the hold ÷ groups)', first.holdMs / Math.max(1, first.held), '2 round trips in a tenant transaction (select 1, median)', 2 * roundTripMs),
      ]);
      report.note(
        `pass: tickets seeded in ${seedSeconds.toFixed(1)} s and had waited ${waitedSeconds.toFixed(1)} s at the first pass (window ${(WINDOW_START + GROWTH_PER_SECOND * waitedSeconds).toFixed(0)}); ` +
          passes.map((pass, i) => `pass ${i + 1}: ${fmt.ms(pass.ms)}, ${pass.read} read, ${pass.held} held`).join('; '),
      );
    } finally {
      await db.close();
    }
  } finally {
    await database.drop();
  }
}

// ---------------------------------------------------------------------------------------------------------
// 2. Ticket → matched on the local fleet
// ---------------------------------------------------------------------------------------------------------

interface Frame {
  op?: string;
  ticket_id?: string;
  match?: { id: string; allocation_id: string | null; created_at: string };
}

/** A player's realtime socket: `matchmaker.matched` frames, each stamped when it arrived. */
class PlayerSocket {
  private readonly queued: { frame: Frame; at: number }[] = [];
  private readonly waiters: ((got: { frame: Frame; at: number }) => void)[] = [];
  private closed = false;

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const at = performance.now();
      const frame = JSON.parse((data as Buffer).toString('utf8')) as Frame;
      if (frame.op !== 'matchmaker.matched') return;
      const waiter = this.waiters.shift();
      if (waiter) waiter({ frame, at });
      else this.queued.push({ frame, at });
    });
    ws.once('close', () => (this.closed = true));
    ws.on('error', () => undefined);
  }

  /** Opens the socket and waits for its `welcome`. */
  static open(url: string): Promise<PlayerSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      const timer = setTimeout(() => reject(new Error('no welcome within 10 s')), 10_000);
      ws.once('unexpected-response', (_request, response) => reject(new Error(`realtime refused: ${response.statusCode}`)));
      ws.once('error', reject);
      const onMessage = (data: Buffer) => {
        if ((JSON.parse(data.toString('utf8')) as Frame).op !== 'welcome') return;
        clearTimeout(timer);
        ws.off('message', onMessage);
        resolve(new PlayerSocket(ws));
      };
      ws.on('message', onMessage);
    });
  }

  /** The next `matchmaker.matched` frame and when it arrived; fails after deadlineMs. */
  nextMatched(deadlineMs: number): Promise<{ frame: Frame; at: number }> {
    const queued = this.queued.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new Error('the socket closed'));
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(wake), 1);
        reject(new Error(`no matchmaker.matched within ${deadlineMs} ms`));
      }, deadlineMs);
      const wake = (got: { frame: Frame; at: number }) => {
        clearTimeout(timer);
        resolve(got);
      };
      this.waiters.push(wake);
    });
  }

  close(): void {
    this.ws.close(1000);
  }
}

async function readyServers(server: ServerProcess): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith('ggscale_fleet_ready_game_servers'))
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1) ?? 0), 0);
}

/** Until the warm buffer is full, then a moment more (no server is mid-start while a pair is timed). */
async function waitWarm(server: ServerProcess, deadlineMs = 120_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while ((await readyServers(server)) < LATENCY_BUFFER) {
    if (Date.now() > deadline) throw new Error(`the warm buffer (${LATENCY_BUFFER}) did not fill within ${deadlineMs / 1000} s`);
    await sleep(20);
  }
  await sleep(SETTLE_MS);
}

async function latencySection(): Promise<void> {
  const database = await createBenchDatabase();
  const sockets: PlayerSocket[] = [];
  try {
    const server = await pool.start({
      args: ['--import', 'tsx', 'bench/support/bench-server.ts'],
      env: {
        DATABASE_URL: database.url,
        GGSCALE_ADMIN_TOKEN: BENCH_ADMIN_TOKEN,
        MATCHMAKER_INTERVAL_MS: String(intervalMs),
        FLEET_LOCAL_BUFFER: String(LATENCY_BUFFER),
        // Ports of their own, apart from bench/fleet.ts's.
        FLEET_LOCAL_PORT_RANGE: '29400-29599',
        // Nothing here may be refused for budget: the figures are the matchmaker's.
        AUTH_RATE_LIMIT_PER_MIN: UNLIMITED,
        PROJECT_AUTH_RATE_LIMIT_PER_MIN: UNLIMITED,
        SECRET_KEY_RATE_LIMIT_PER_MIN: UNLIMITED,
        RATE_LIMIT_PER_MIN: UNLIMITED,
        LOG_LEVEL: 'warn',
      },
    });
    await waitForStatus(server, '/v1/readyz', 200, 120_000, 20);
    const project = await createProject(server.url, `bench-mm-${runId}`);
    await call(server.url, 'POST', '/v1/matchmaker/pools', project.secretKey, {
      id: LATENCY_POOL,
      fleet: 'default',
      min_players: 2,
      max_players: 2,
      skill: { window_start: WINDOW_START, growth_per_second: GROWTH_PER_SECOND },
      max_wait_seconds: 120,
    });
    const players = await Promise.all(
      [0, 1].map(async (i) => {
        const signedIn = await deviceSignIn(server.url, project, `bench-mm-${runId}-device-${i}`);
        const socket = await PlayerSocket.open(`${server.url.replace(/^http/, 'ws')}/v1/realtime?token=${encodeURIComponent(signedIn.access_token)}`);
        sockets.push(socket);
        return { token: signedIn.access_token, socket };
      }),
    );
    const warmStarted = performance.now();
    await waitWarm(server);
    report.note(`latency: ${LATENCY_BUFFER} warm game servers Ready ${((performance.now() - warmStarted) / 1000).toFixed(1)} s after the project was made`);

    const latencies: number[] = [];
    const posts: number[] = [];
    const releases: number[] = [];
    const afterPass: number[] = [];
    for (let pair = 0; pair < pairs; pair++) {
      await waitWarm(server);
      // At a random phase of the matcher's timer, as players arrive.
      await sleep(Math.random() * intervalMs);
      const skill = 1000 + (pair % 20) * 50;
      const allocations = await Promise.all(
        players.map(async (player) => {
          const matched = player.socket.nextMatched(Math.max(15_000, 10 * intervalMs));
          matched.catch(() => undefined); // awaited below; a failed POST must not leave it unhandled
          const started = performance.now();
          const ticket = await call<{ id: string; created_at: string }>(server.url, 'POST', '/v1/matchmaker/tickets', player.token, { pool: LATENCY_POOL, skill, regions: ['eu'] });
          posts.push(performance.now() - started);
          const { frame, at } = await matched;
          if (frame.ticket_id !== ticket.id) throw new Error(`matchmaker.matched for ticket ${frame.ticket_id}, posted ${ticket.id}`);
          latencies.push(at - started);
          // The wait for a pass, on the database's clock: the ticket's created_at to its match's (the pass
          // transaction's start); the rest of the latency is the pass, the allocation and the delivery.
          if (frame.match) afterPass.push(at - started - (Date.parse(frame.match.created_at) - Date.parse(ticket.created_at)));
          return frame.match?.allocation_id;
        }),
      );
      const allocationId = allocations[0];
      if (!allocationId || allocations[1] !== allocationId) throw new Error(`the pair was told allocations ${allocations.join(', ')}`);
      const started = performance.now();
      await call(server.url, 'DELETE', `/v1/fleet/allocations/${allocationId}`, project.secretKey);
      releases.push(performance.now() - started);
    }

    const p99 = percentile(latencies, 99);
    const p50 = percentile(latencies, 50);
    report.table(
      `latency: ticket → matchmaker.matched, local fleet, ${LATENCY_BUFFER} warm servers, MATCHMAKER_INTERVAL_MS=${intervalMs} (${pairs} pairs, ${latencies.length} tickets, each pair at a random phase)`,
      [
        timeRow('ticket → matched p99', p99, 'MATCHMAKER_INTERVAL_MS', intervalMs, { maxMs: 1.5 * intervalMs }),
        timeRow('ticket → matched p99', p99, 'POST /v1/matchmaker/tickets round trip p99', percentile(posts, 99)),
        timeRow('ticket → matched p50', p50, 'POST /v1/matchmaker/tickets round trip p50', percentile(posts, 50)),
        timeRow('ticket → matched p50', p50, 'half the interval (the mean wait for the next pass)', intervalMs / 2),
        timeRow('matcher pass start → matched p99 (latency minus the wait for the pass)', percentile(afterPass, 99), 'POST /v1/matchmaker/tickets round trip p99', percentile(posts, 99)),
        timeRow('matcher pass start → matched p50', percentile(afterPass, 50), 'POST /v1/matchmaker/tickets round trip p50', percentile(posts, 50)),
        infoRow('ticket → matched min / max', `${fmt.ms(Math.min(...latencies))} / ${fmt.ms(Math.max(...latencies))}`, '—', '—'),
        infoRow('release (DELETE allocation) p50 / p99', `${fmt.ms(percentile(releases, 50))} / ${fmt.ms(percentile(releases, 99))}`, '—', '—'),
      ],
    );
  } finally {
    for (const socket of sockets) socket.close();
    await pool.stopAll();
    await database.drop();
  }
}

async function main(): Promise<void> {
  report.note(`sections ${sections.join(', ')}; ${ticketCount.toLocaleString('en')} tickets; ${pairs} pairs at MATCHMAKER_INTERVAL_MS=${intervalMs}`);
  if (sections.includes('pass')) await passSection();
  if (sections.includes('latency')) await latencySection();
  report.finish();
}

runBench(main, pool);
