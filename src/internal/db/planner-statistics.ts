/**
 * Planner statistics on a PostgreSQL server that runs with autovacuum = off, shared by both PostgreSQL
 * drivers: nothing would ever analyze ggscale's tables there, so ggscale analyzes those whose rows changed
 * enough, on the embedded database's maintenance schedule (maintenance-schedule.ts).
 */
import type { Row } from './database.js';
import { MaintenanceSchedule } from './maintenance-schedule.js';

/**
 * The owner's tables whose rows changed past autovacuum's analyze threshold (50 + 10% of the table) since
 * their last ANALYZE, or that were never analyzed. Without statistics the planner cannot tell apart the
 * indexes that share the (tenant_id, project_id) prefix: a refresh-token lookup then read every session and
 * token of its project (test/auth/refresh-lookup.test.ts), and the soak's refreshes slowed to 300 ms.
 */
const STALE_STATISTICS_SQL = `select format('%I.%I', t.schemaname, t.relname) as name
  from pg_stat_user_tables t join pg_class c on c.oid = t.relid
 where pg_has_role(c.relowner, 'USAGE')
   and (t.n_mod_since_analyze > 50 + 0.1 * t.n_live_tup or (t.last_analyze is null and t.last_autoanalyze is null and t.n_live_tup > 0))`;

/** Runs one statement on an owner connection of its own: no transaction, and not an operator action (nothing logged). */
export type OwnerStatement = (text: string) => Promise<Row[]>;

export class PlannerStatistics {
  private schedule: MaintenanceSchedule | undefined;
  private stopped = false;

  constructor(private readonly run: OwnerStatement) {}

  /**
   * If the server runs with autovacuum = off, analyzes stale tables at most every intervalMs from now on;
   * onMaintenance hears, once, that it started.
   */
  async startIfAutovacuumIsOff(intervalMs: number, onMaintenance?: (message: string) => void): Promise<void> {
    const [setting] = await this.run('show autovacuum').catch((): Row[] => []);
    if (setting?.autovacuum !== 'off' || this.stopped) return;
    onMaintenance?.('PostgreSQL runs with autovacuum = off: ggscale analyzes its own tables when their rows change (dead rows are left to your VACUUM schedule)');
    this.schedule = new MaintenanceSchedule(() => this.refresh(), intervalMs);
  }

  /** One ANALYZE per stale table, each a statement of its own. */
  async refresh(): Promise<void> {
    const stale = (await this.run(STALE_STATISTICS_SQL)) as { name: string }[];
    for (const table of stale) await this.run(`analyze ${table.name}`);
  }

  stop(): void {
    this.stopped = true;
    this.schedule?.stop();
  }
}
