import { mkdirSync } from 'node:fs';
import type { Config } from '../app/config.js';
import { DataDirLock } from '../internal/db/lockfile.js';
import { isMigrated, loadMigrations, migrateDown, migrateUp } from '../internal/db/migrate.js';
import { openDatabase } from '../internal/db/open.js';
import { migrationsDir } from '../internal/paths.js';

/** `ggscale migrate [up | down [N] | status]`: prints one JSON line with what it did. */
export async function runMigrateCommand(config: Config, args: string[]): Promise<number> {
  const [action = 'up', count] = args;
  const lock = config.databaseUrl === undefined ? (mkdirSync(config.dataDir, { recursive: true }), DataDirLock.acquire(config.dataDir)) : undefined;
  const db = await openDatabase(config);
  try {
    const migrations = await loadMigrations(migrationsDir);
    let result: Record<string, unknown>;
    if (action === 'up') result = { applied: await migrateUp(db, migrations) };
    else if (action === 'down') {
      const steps = count === undefined ? 1 : Number(count);
      if (!Number.isInteger(steps) || steps < 1) throw new Error('migrate down takes a positive whole number of steps');
      result = { reverted: await migrateDown(db, migrations, steps) };
    } else if (action === 'status') result = { up_to_date: await isMigrated(db, migrations), latest: migrations.at(-1)?.version ?? 0 };
    else {
      process.stderr.write(`ggscale migrate: unknown action "${action}" (up, down [N], status)\n`);
      return 2;
    }
    process.stdout.write(JSON.stringify(result) + '\n');
    return 0;
  } finally {
    await db.close();
    lock?.release();
  }
}
