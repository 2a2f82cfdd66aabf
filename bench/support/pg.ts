/**
 * Throwaway PostgreSQL databases for the benchmarks: created and migrated at the start of a run, dropped
 * (with force) at the end. The server is BENCH_DATABASE_URL, by default the local one.
 */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import type { Database } from '../../src/internal/db/database.js';
import { PostgresDatabase } from '../../src/internal/db/postgres.js';
import { loadMigrations, migrateUp } from '../../src/internal/db/migrate.js';
import { migrationsDir } from '../../src/internal/paths.js';

export const PG_BASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface BenchDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = '/' + name;
  return parsed.toString();
}

const dropped = new Set<() => Promise<void>>();

/** Drops every database created here that was not dropped yet (on failure or Ctrl-C). */
export async function dropAllBenchDatabases(): Promise<void> {
  await Promise.all([...dropped].map((drop) => drop().catch(() => undefined)));
}

/** baseUrl: the server to create it on (the soak passes its DATABASE_URL). */
export async function createBenchDatabase(baseUrl = PG_BASE_URL): Promise<BenchDatabase> {
  const name = `ggscale_bench_${randomBytes(5).toString('hex')}`;
  const admin = postgres(baseUrl, { max: 1, onnotice: () => undefined });
  try {
    await admin.unsafe(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  const url = withDatabase(baseUrl, name);
  const drop = async () => {
    dropped.delete(drop);
    const cleanup = postgres(baseUrl, { max: 1, onnotice: () => undefined });
    try {
      await cleanup.unsafe(`drop database if exists "${name}" with (force)`);
    } finally {
      await cleanup.end();
    }
  };
  dropped.add(drop);
  const db = await PostgresDatabase.open({ url, poolSize: 2, statementTimeoutMs: 60_000 });
  try {
    await migrateUp(db, await loadMigrations(migrationsDir));
  } finally {
    await db.close();
  }
  return { name, url, drop };
}

export interface SeededProject {
  tenantId: string;
  projectId: string;
  /** Ids of the seeded players of this project, lowest and highest (they are consecutive). */
  firstPlayerId: number;
  lastPlayerId: number;
}

/**
 * Seeds `players` players into a new tenant and project, through the operator path (a bench is a
 * scheduler-like caller: it creates tenants). Ids of one call are consecutive.
 */
export async function seedPlayers(db: Database, tenantName: string, players: number): Promise<SeededProject> {
  return db.operator('bench seed', async (tx) => {
    const [tenant] = await tx.query<{ id: string }>('insert into tenants (name) values ($1) returning id', [tenantName]);
    const [project] = await tx.query<{ id: string }>('insert into projects (tenant_id, name) values ($1, $2) returning id', [tenant!.id, 'bench']);
    const [range] = await tx.query<{ first: string; last: string }>(
      `with inserted as (
         insert into players (tenant_id, project_id, email)
         select $1, $2, 'player' || n || '@bench.example' from generate_series(1, $3::int) as n
         returning id)
       select min(id) as first, max(id) as last from inserted`,
      [tenant!.id, project!.id, players],
    );
    await tx.query('analyze players');
    return { tenantId: tenant!.id, projectId: project!.id, firstPlayerId: Number(range!.first), lastPlayerId: Number(range!.last) };
  });
}
