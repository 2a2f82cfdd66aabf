/**
 * The soak's tenant, project, keys and players, set up through the public API as a studio and its game
 * clients would. A player is used by one worker at a time (checked out of the pool), so what the soak
 * remembers about it (tokens, object versions, board records) is always what the server holds.
 */
import { randomBytes } from 'node:crypto';
import type { HttpClient } from './http.js';

export interface SoakProject {
  tenantId: string;
  projectId: string;
  publishableKey: string;
  secretKey: string;
}

export interface Player {
  id: string;
  /** Device players sign in with this; email players with email and password. */
  deviceId?: string;
  email?: string;
  password?: string;
  access: string;
  refresh: string;
  /** When the access token was issued (performance.now()), so long runs refresh it before it expires. */
  issuedAt: number;
  /** Storage keys this player owns, with their current version. */
  objects: Map<string, string>;
  /** Boards on which this player has a record. */
  boards: Set<string>;
}

interface SignedIn {
  player: { id: string };
  access_token: string;
  refresh_token: string;
}

export const BOARDS = [
  { id: 'soak-best', sort: 'desc', operator: 'best' },
  { id: 'soak-incr', sort: 'desc', operator: 'incr' },
] as const;

export async function bootstrapProject(http: HttpClient, adminToken: string, name: string): Promise<SoakProject> {
  const must = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`set-up failed: ${what}`);
    return value;
  };
  const credential = adminToken;
  const tenant = must(await http.json<{ id: string }>('admin.tenant', 'POST', '/v1/admin/tenants', [201], { credential, body: { name } }), 'tenant');
  const project = must(
    await http.json<{ id: string }>('admin.project', 'POST', `/v1/admin/tenants/${tenant.id}/projects`, [201], { credential, body: { name: 'soak' } }),
    'project',
  );
  const key = async (kind: 'publishable' | 'secret') =>
    must(
      await http.json<{ key: string }>('admin.api-key', 'POST', `/v1/admin/projects/${project.id}/api-keys`, [201], { credential, body: { kind, name: `soak ${kind}` } }),
      `${kind} key`,
    ).key;
  const result = { tenantId: tenant.id, projectId: project.id, publishableKey: await key('publishable'), secretKey: await key('secret') };
  for (const board of BOARDS) {
    must(await http.call('leaderboards.create', 'POST', '/v1/leaderboards', [201], { credential: result.secretKey, body: board }), `board ${board.id}`);
  }
  return result;
}

function fromSignedIn(signedIn: SignedIn, extra: Partial<Player>): Player {
  return {
    id: signedIn.player.id,
    access: signedIn.access_token,
    refresh: signedIn.refresh_token,
    issuedAt: performance.now(),
    objects: new Map(),
    boards: new Set(),
    ...extra,
  };
}

/** Access tokens live 15 minutes by default: a player whose token is older than this refreshes first. */
export const REFRESH_AFTER_MS = 10 * 60_000;

export const newDeviceId = () => `soak-device-${randomBytes(12).toString('hex')}`;

/** A device sign-in: 201 for a new device, 200 for a known one (a new session either way). */
export async function signInDevice(http: HttpClient, project: SoakProject, deviceId: string, expected: readonly number[]): Promise<Player | undefined> {
  const signedIn = await http.json<SignedIn>('auth.device', 'POST', '/v1/auth/device', expected, { credential: project.publishableKey, body: { device_id: deviceId } });
  return signedIn && fromSignedIn(signedIn, { deviceId });
}

export async function signUp(http: HttpClient, project: SoakProject): Promise<Player | undefined> {
  const email = `soak-${randomBytes(8).toString('hex')}@players.example`;
  const password = `pw-${randomBytes(12).toString('base64url')}`;
  const signedIn = await http.json<SignedIn>('auth.signup', 'POST', '/v1/auth/signup', [201], { credential: project.publishableKey, body: { email, password } });
  return signedIn && fromSignedIn(signedIn, { email, password });
}

/** A new session for a player already known (after a logout, or a second device). Keeps what it owns. */
export async function signInAgain(http: HttpClient, project: SoakProject, player: Player): Promise<boolean> {
  const signedIn = player.deviceId
    ? await http.json<SignedIn>('auth.device', 'POST', '/v1/auth/device', [200], { credential: project.publishableKey, body: { device_id: player.deviceId } })
    : await http.json<SignedIn>('auth.login', 'POST', '/v1/auth/login', [200], {
        credential: project.publishableKey,
        body: { email: player.email, password: player.password },
      });
  if (!signedIn) return false;
  if (signedIn.player.id !== player.id) throw new Error(`signed in as ${signedIn.player.id}, expected ${player.id}`);
  player.access = signedIn.access_token;
  player.refresh = signedIn.refresh_token;
  player.issuedAt = performance.now();
  return true;
}

export async function refresh(http: HttpClient, project: SoakProject, player: Player): Promise<boolean> {
  const pair = await http.json<{ access_token: string; refresh_token: string }>('auth.refresh', 'POST', '/v1/auth/refresh', [200], {
    credential: project.publishableKey,
    body: { refresh_token: player.refresh },
  });
  if (!pair) return false;
  player.access = pair.access_token;
  player.refresh = pair.refresh_token;
  player.issuedAt = performance.now();
  return true;
}

/** Players handed to one worker at a time, round robin. */
export class PlayerPool {
  private readonly idle: Player[] = [];

  constructor(players: Player[]) {
    this.idle.push(...players);
  }

  get size(): number {
    return this.idle.length;
  }

  checkout(): Player {
    const player = this.idle.shift();
    // The pool is larger than the number of workers, so one is always idle.
    if (!player) throw new Error('no idle player: the pool must be larger than the concurrency');
    return player;
  }

  checkin(player: Player): void {
    this.idle.push(player);
  }
}
