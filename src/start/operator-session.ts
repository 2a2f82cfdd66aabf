/**
 * CLI commands that act as the operator (bootstrap, keys rotate) work whether or not a ggscale already runs
 * on the same embedded data folder: with a live holder of the folder's lock they go through that server's
 * operator API; otherwise they open the database themselves (holding the lock meanwhile).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../app/config.js';
import { DataDirLock, readLock } from '../internal/db/lockfile.js';
import type { Database } from '../internal/db/database.js';

export type OperatorAccess =
  | { via: 'http'; call(method: string, path: string, body?: unknown): Promise<unknown> }
  | { via: 'database'; db: Database };

function adminToken(config: Config): string | undefined {
  if (config.adminToken) return config.adminToken;
  try {
    return readFileSync(join(config.dataDir, 'admin-token'), 'utf8').trim();
  } catch {
    return undefined;
  }
}

export async function withOperatorAccess<T>(config: Config, fn: (access: OperatorAccess) => Promise<T>): Promise<T> {
  const embedded = config.databaseUrl === undefined;
  const running = embedded ? readLock(config.dataDir) : undefined;
  if (running?.url) {
    const token = adminToken(config);
    if (!token) throw new Error(`a ggscale runs on ${config.dataDir} but its operator token is not readable`);
    const base = running.url;
    return fn({
      via: 'http',
      async call(method, path, body) {
        const res = await fetch(base + path, {
          method,
          headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        const text = await res.text();
        if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
        return text ? (JSON.parse(text) as unknown) : undefined;
      },
    });
  }
  let lock: DataDirLock | undefined;
  if (embedded) {
    mkdirSync(config.dataDir, { recursive: true });
    lock = DataDirLock.acquire(config.dataDir);
  }
  const { openDatabase } = await import('../internal/db/open.js');
  const { loadMigrations, migrateUp } = await import('../internal/db/migrate.js');
  const { migrationsDir } = await import('../internal/paths.js');
  const db = await openDatabase(config);
  try {
    await migrateUp(db, await loadMigrations(migrationsDir));
    return await fn({ via: 'database', db });
  } finally {
    await db.close();
    lock?.release();
  }
}
