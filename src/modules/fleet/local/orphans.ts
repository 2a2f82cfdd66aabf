/**
 * Game servers left behind by a ggscale that died without cleaning up (SIGKILL, power loss of the
 * process, OOM). Children lead their own process groups, so nothing kills them with their parent; the
 * echo server watches its parent and exits on its own (parent-watchdog.ts), and on start the local backend
 * sweeps up any other command's orphans: processes whose environment names this node as their owner and
 * whose recorded parent is no longer their parent. Linux only (/proc); elsewhere the sweep finds nothing.
 */
import { readdir, readFile } from 'node:fs/promises';

export interface Orphan {
  pid: number;
  name: string;
}

export async function findOrphans(owner: string): Promise<Orphan[]> {
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return [];
  }
  const found: Orphan[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    try {
      const env = parseEnviron(await readFile(`/proc/${pid}/environ`));
      if (env.GGSCALE_FLEET_OWNER !== owner || env.GGSCALE_PARENT_PID === undefined) continue;
      const ppid = parentOf(await readFile(`/proc/${pid}/stat`, 'utf8'));
      if (ppid !== Number(env.GGSCALE_PARENT_PID)) found.push({ pid, name: env.GGSCALE_GAME_SERVER ?? '' });
    } catch {
      // Gone meanwhile, or another user's process: not ours to read, not ours to kill.
    }
  }
  return found;
}

/** Kills each orphan's process group (it leads one), or the process alone if that fails. */
export function killOrphans(orphans: Orphan[]): void {
  for (const { pid } of orphans) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
}

function parseEnviron(raw: Buffer): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of raw.toString('utf8').split('\0')) {
    const eq = pair.indexOf('=');
    if (eq > 0) env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return env;
}

/** Field 4 of /proc/<pid>/stat; the command name (field 2) may contain spaces and parentheses. */
function parentOf(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[1]);
}
