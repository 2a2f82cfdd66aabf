/**
 * Server-side cost: the CPU time PostgreSQL's backends spend, read from /proc/<pid>/schedstat (nanoseconds
 * on the CPU, per process; each backend is one process), and the CPU time of one of our own server
 * processes from /proc/<pid>/stat. Only where the database server runs on this machine (a benchmark's
 * local PostgreSQL); elsewhere `available` is false and the figures are left out.
 *
 * Why not pg_stat_statements: it needs shared_preload_libraries (a server restart, on a server other work
 * shares), and it times statements, not the protocol work around them (Parse/Bind/Sync, BEGIN, COMMIT), which
 * is where the two PostgreSQL clients differ.
 */
import { readFileSync } from 'node:fs';
import postgres from 'postgres';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

function schedstatNs(pid: number): number | undefined {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]);
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) of a whole process, every thread, in ns (10 ms resolution). */
export function processCpuNs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command (which may hold spaces) in parentheses: state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND) * 1e9;
}

export class BackendCpu {
  private constructor(
    private readonly admin: postgres.Sql,
    private readonly database: string,
    readonly available: boolean,
  ) {}

  /** Watches the backends connected to `database` on the server at `url`. */
  static async open(url: string, database: string): Promise<BackendCpu> {
    const admin = postgres(url, { max: 1, onnotice: () => undefined });
    const [own] = await admin<{ pid: number }[]>`select pg_backend_pid() as pid`;
    // Readable only if the server is on this machine (the pid of our own backend is ours to read).
    return new BackendCpu(admin, database, process.platform === 'linux' && schedstatNs(own!.pid) !== undefined);
  }

  /** CPU ns so far of every client backend of the database (other than this watcher's), by pid. */
  async sample(): Promise<Map<number, number>> {
    const rows = await this.admin<{ pid: number }[]>`
      select pid from pg_stat_activity where datname = ${this.database} and backend_type = 'client backend' and pid <> pg_backend_pid()`;
    const sample = new Map<number, number>();
    for (const { pid } of rows) {
      const ns = schedstatNs(pid);
      if (ns !== undefined) sample.set(pid, ns);
    }
    return sample;
  }

  /** CPU ns the backends used between two samples (a backend that started in between counts from zero). */
  static used(before: Map<number, number>, after: Map<number, number>): number {
    let total = 0;
    for (const [pid, ns] of after) total += ns - (before.get(pid) ?? 0);
    return total;
  }

  async close(): Promise<void> {
    await this.admin.end({ timeout: 5 });
  }
}
