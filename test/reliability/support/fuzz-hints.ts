/**
 * Which real values the fuzzer tries for a parameter or body field, by name (and, for `id`, by route), and
 * which ones the operator must not be pointed at: the operator may legitimately wreck any project, so its
 * fuzzed requests are kept off the project the fuzzer calls with and off tenant B (whose rows are the
 * referee of the run).
 */
import { TINY_GAME_SERVER } from '../../fleet/helpers.js';
import type { Hints } from './json-schema-arbitrary.js';
import { COLLECTIONS, OBJECT_KEYS, type FuzzWorld } from './fuzz-world.js';

const projects = (world: FuzzWorld) => [world.main, world.target, world.other];

export function worldHints(world: FuzzWorld): Hints {
  const all = projects(world);
  const players = all.flatMap((p) => p.players.map((player) => player.playerId));
  return (path) => {
    const name = path[path.length - 1] ?? '';
    const scope = path[0] ?? '';
    switch (name) {
      case 'tenant_id':
        return [world.main.tenantId, world.other.tenantId];
      case 'project_id':
        return all.map((p) => p.projectId);
      case 'player_id':
      case 'around':
        return players;
      case 'owner':
        return ['project', ...players];
      case 'key_id':
        return all.flatMap((p) => p.keyIds);
      case 'id':
        if (scope.startsWith('/v1/fleet/allocations')) return all.flatMap((p) => p.allocations);
        if (scope.startsWith('/v1/leaderboards')) return world.main.boards;
        return undefined;
      case 'name':
      case 'fleet':
        return scope.includes('fleets') || scope.startsWith('/v1/fleet') ? all.flatMap((p) => p.fleets) : undefined;
      case 'collection':
        return COLLECTIONS;
      case 'key':
        return OBJECT_KEYS;
      case 'prefix':
        return ['slot', 'slot-', ''];
      case 'email':
        return [world.email.address, world.email.address.toUpperCase()];
      case 'password':
      case 'current_password':
        return [world.email.password];
      case 'device_id':
        return all.flatMap((p) => p.deviceIds);
      case 'refresh_token':
        return world.refreshTokens;
      case 'token':
        return world.main.players.map((p) => p.accessToken);
      case 'if-match':
      case 'if-none-match':
        return ['*', ...world.main.objectVersions.slice(0, 3).map((v) => `"${v}"`)];
      case 'command':
        // A missing binary is a fine hostile case; anything else random must never be executed.
        return { only: [TINY_GAME_SERVER, ['/nonexistent/ggscale-fuzz-game-server', '{port}']] };
      case 'idempotency-key':
        return ['fuzz-idempotency-1'];
      default:
        return undefined;
    }
  };
}

/** Path parameters the operator's fuzzed requests must not name, and what to use instead. */
export function operatorPathGuard(world: FuzzWorld): (name: string, encoded: string) => string {
  const { main, target, other } = world;
  const protectedValues: Record<string, { values: Set<string>; instead: string }> = {
    tenant_id: { values: new Set([other.tenantId]), instead: main.tenantId },
    project_id: { values: new Set([main.projectId, other.projectId]), instead: target.projectId },
    player_id: { values: new Set([...main.players, ...other.players].map((p) => p.playerId)), instead: target.players[0]!.playerId },
    key_id: { values: new Set([...main.keyIds, ...other.keyIds]), instead: target.keyIds[0]! },
  };
  return (name, encoded) => {
    const guard = protectedValues[name];
    if (!guard) return encoded;
    let decoded: string;
    try {
      decoded = decodeURIComponent(encoded);
    } catch {
      return encoded;
    }
    // Leading zeros, signs or spaces could still name the same row once the server parses the id.
    const canonical = /^\s*\+?0*(\d+)\s*$/.exec(decoded)?.[1] ?? decoded;
    return guard.values.has(canonical) ? guard.instead : encoded;
  };
}
