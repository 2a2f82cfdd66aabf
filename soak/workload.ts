/**
 * The mixed HTTP workload: a fixed number of workers, each taking an idle player, running one operation
 * picked by weight, and giving the player back. Every operation states the statuses it expects and checks
 * what it can of the answer against what the soak knows (a listing matches the objects the player holds,
 * an ETag matches the version it last wrote); anything else is an error.
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { HttpClient } from './http.js';
import type { Recorder } from './recorder.js';
import { BOARDS, REFRESH_AFTER_MS, newDeviceId, refresh, signInAgain, signInDevice, signUp, type Player, type PlayerPool, type SoakProject } from './players.js';

export interface WorkloadContext {
  http: HttpClient;
  recorder: Recorder;
  project: SoakProject;
}

/** An operation on one player; returns the player to give back (a new one when it replaced it). */
type Operation = (ctx: WorkloadContext, player: Player) => Promise<Player>;

const COLLECTION = 'soak';
/** Keys per player stay few, so the data set stays bounded however long the soak runs. */
const KEYS_PER_PLAYER = 8;

const pick = <T>(items: readonly T[]): T => items[randomInt(items.length)]!;
const knownKey = (player: Player): string | undefined => (player.objects.size === 0 ? undefined : pick([...player.objects.keys()]));
const objectPath = (key: string) => `/v1/storage/${COLLECTION}/${key}`;

async function storagePut(ctx: WorkloadContext, player: Player): Promise<Player> {
  const key = `k${randomInt(KEYS_PER_PLAYER)}`;
  const version = player.objects.get(key);
  const headers: Record<string, string> = { 'content-type': 'application/octet-stream', ...(version ? { 'if-match': `"${version}"` } : { 'if-none-match': '*' }) };
  const stored = await ctx.http.json<{ version: string }>('storage.put', 'PUT', objectPath(key), [version ? 200 : 201], {
    credential: player.access,
    body: randomBytes(64 + randomInt(1984)),
    headers,
  });
  if (stored) player.objects.set(key, stored.version);
  return player;
}

/** A write against a version that is not the current one: 412, and nothing changes. */
async function storageStalePut(ctx: WorkloadContext, player: Player): Promise<Player> {
  const key = knownKey(player);
  if (!key) return storagePut(ctx, player);
  await ctx.http.call('storage.put-412', 'PUT', objectPath(key), [412], {
    credential: player.access,
    body: Buffer.from('stale'),
    headers: { 'content-type': 'application/octet-stream', 'if-match': '"not-the-current-version"' },
  });
  return player;
}

async function storageGet(ctx: WorkloadContext, player: Player): Promise<Player> {
  const key = knownKey(player);
  if (!key) return storagePut(ctx, player);
  const version = player.objects.get(key)!;
  const conditional = randomInt(3) === 0;
  const answer = await ctx.http.call('storage.get', 'GET', objectPath(key), [conditional ? 304 : 200], {
    credential: player.access,
    headers: conditional ? { 'if-none-match': `"${version}"` } : {},
  });
  if (answer && answer.headers.etag !== `"${version}"`) ctx.recorder.fail('storage.get', 'wrong ETag', `${String(answer.headers.etag)} ≠ "${version}"`);
  return player;
}

async function storageList(ctx: WorkloadContext, player: Player): Promise<Player> {
  const page = await ctx.http.json<{ items: { key: string; version: string }[] }>('storage.list', 'GET', `/v1/storage/${COLLECTION}?limit=100`, [200], {
    credential: player.access,
  });
  if (!page) return player;
  const listed = page.items.map((item) => `${item.key}@${item.version}`).sort();
  const held = [...player.objects.entries()].map(([key, version]) => `${key}@${version}`).sort();
  if (listed.join() !== held.join()) ctx.recorder.fail('storage.list', 'listing differs from what the player holds', `${listed.join()} vs ${held.join()}`);
  return player;
}

async function storageDelete(ctx: WorkloadContext, player: Player): Promise<Player> {
  const key = knownKey(player);
  if (!key) return storagePut(ctx, player);
  const answer = await ctx.http.call('storage.delete', 'DELETE', objectPath(key), [204], {
    credential: player.access,
    headers: { 'if-match': `"${player.objects.get(key)!}"` },
  });
  if (answer) player.objects.delete(key);
  return player;
}

async function leaderboardSubmit(ctx: WorkloadContext, player: Player): Promise<Player> {
  const board = pick(BOARDS);
  const score = board.operator === 'incr' ? 1 + randomInt(100) : randomInt(1_000_000);
  const record = await ctx.http.json<{ player_id: string; rank: number }>('leaderboards.submit', 'POST', `/v1/leaderboards/${board.id}/scores`, [200], {
    credential: player.access,
    body: { score },
  });
  if (!record) return player;
  player.boards.add(board.id);
  if (record.player_id !== player.id || !(record.rank >= 1)) ctx.recorder.fail('leaderboards.submit', 'wrong record', JSON.stringify(record));
  return player;
}

async function leaderboardTop(ctx: WorkloadContext, player: Player): Promise<Player> {
  const board = pick(BOARDS);
  const page = await ctx.http.json<{ items: { rank: number }[] }>('leaderboards.top', 'GET', `/v1/leaderboards/${board.id}/scores?limit=10`, [200], {
    credential: player.access,
  });
  // Ranks rise strictly from 1 on; a record deleted between reading the rank index and its rows leaves a
  // gap in that one page (the service skips it), so gaps are not counted as errors.
  if (page && page.items.some((item, index) => item.rank < index + 1 || (index > 0 && item.rank <= page.items[index - 1]!.rank))) {
    ctx.recorder.fail('leaderboards.top', 'ranks do not rise from 1', JSON.stringify(page.items.map((item) => item.rank)));
  }
  return player;
}

async function leaderboardAround(ctx: WorkloadContext, player: Player): Promise<Player> {
  const board = pick(BOARDS);
  const has = player.boards.has(board.id);
  const page = await ctx.http.json<{ items: { player_id: string }[] }>(
    'leaderboards.around',
    'GET',
    `/v1/leaderboards/${board.id}/scores?around=${player.id}&limit=5`,
    [has ? 200 : 404],
    { credential: player.access },
  );
  if (has && page && !page.items.some((item) => item.player_id === player.id)) ctx.recorder.fail('leaderboards.around', 'the player is not in its own window');
  return player;
}

async function leaderboardRank(ctx: WorkloadContext, player: Player): Promise<Player> {
  const board = pick(BOARDS);
  const has = player.boards.has(board.id);
  const record = await ctx.http.json<{ player_id: string; rank: number }>('leaderboards.rank', 'GET', `/v1/leaderboards/${board.id}/scores/${player.id}`, [has ? 200 : 404], {
    credential: player.access,
  });
  if (has && record && (record.player_id !== player.id || !(record.rank >= 1))) ctx.recorder.fail('leaderboards.rank', 'wrong record', JSON.stringify(record));
  return player;
}

async function leaderboardDelete(ctx: WorkloadContext, player: Player): Promise<Player> {
  const board = pick(BOARDS);
  if (!player.boards.has(board.id)) return leaderboardSubmit(ctx, player);
  const answer = await ctx.http.call('leaderboards.delete', 'DELETE', `/v1/leaderboards/${board.id}/scores/${player.id}`, [204], { credential: player.access });
  if (answer) player.boards.delete(board.id);
  return player;
}

async function me(ctx: WorkloadContext, player: Player): Promise<Player> {
  const body = await ctx.http.json<{ player: { id: string } }>('auth.me', 'GET', '/v1/auth/me', [200], { credential: player.access });
  if (body && body.player.id !== player.id) ctx.recorder.fail('auth.me', 'another player', `${body.player.id} ≠ ${player.id}`);
  return player;
}

async function refreshTokens(ctx: WorkloadContext, player: Player): Promise<Player> {
  await refresh(ctx.http, ctx.project, player);
  return player;
}

async function logout(ctx: WorkloadContext, player: Player): Promise<Player> {
  const answer = await ctx.http.call('auth.logout', 'POST', '/v1/auth/logout', [204], { credential: player.access });
  // Signed out either way now: the next operations need a fresh session.
  if (answer) await signInAgain(ctx.http, ctx.project, player);
  return player;
}

/** Another session for the same player (a second device, a reinstall): device sign-in or password login. */
async function newSession(ctx: WorkloadContext, player: Player): Promise<Player> {
  await signInAgain(ctx.http, ctx.project, player);
  return player;
}

async function wrongPassword(ctx: WorkloadContext, player: Player): Promise<Player> {
  if (!player.email) return me(ctx, player);
  await ctx.http.call('auth.login-wrong', 'POST', '/v1/auth/login', [401], {
    credential: ctx.project.publishableKey,
    body: { email: player.email, password: `${player.password!}-wrong` },
  });
  return player;
}

/** A new player takes this one's place in the pool (the old one keeps its rows, as a lapsed player does). */
async function newPlayer(ctx: WorkloadContext, player: Player): Promise<Player> {
  const fresh = player.email ? await signUp(ctx.http, ctx.project) : await signInDevice(ctx.http, ctx.project, newDeviceId(), [201]);
  return fresh ?? player;
}

/** Weights are per 100 operations, roughly: storage ~37, leaderboards ~33, auth ~28 (argon2 work ~2%). */
const OPERATIONS: [number, Operation][] = [
  [14, storagePut],
  [1, storageStalePut],
  [14, storageGet],
  [4, storageList],
  [4, storageDelete],
  [14, leaderboardSubmit],
  [7, leaderboardTop],
  [5, leaderboardAround],
  [6, leaderboardRank],
  [1, leaderboardDelete],
  [10, me],
  [10, refreshTokens],
  [3, logout],
  [3, newSession],
  [0.5, wrongPassword],
  [0.5, newPlayer],
];
const TOTAL_WEIGHT = OPERATIONS.reduce((sum, [weight]) => sum + weight, 0);

function pickOperation(): Operation {
  let roll = Math.random() * TOTAL_WEIGHT;
  for (const [weight, operation] of OPERATIONS) {
    roll -= weight;
    if (roll < 0) return operation;
  }
  return OPERATIONS[0]![1];
}

/** `concurrency` workers until `stopping()` says so; each finishes the operation it is in. */
export async function runWorkers(ctx: WorkloadContext, pool: PlayerPool, concurrency: number, stopping: () => boolean): Promise<void> {
  const worker = async () => {
    while (!stopping()) {
      const player = pool.checkout();
      let next = player;
      try {
        if (performance.now() - player.issuedAt > REFRESH_AFTER_MS) await refresh(ctx.http, ctx.project, player);
        next = await pickOperation()(ctx, player);
      } catch (error) {
        ctx.recorder.fail('workload', 'operation threw', error instanceof Error ? error.message : String(error));
      } finally {
        pool.checkin(next);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}
