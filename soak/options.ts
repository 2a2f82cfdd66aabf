/** `npm run soak -- [--duration=600] [--concurrency=12] [--sockets=8] [--players=64] [--sample=10] [--warmup=120] [--no-build]` */

export interface SoakOptions {
  durationSeconds: number;
  /** HTTP requests in flight at once: fixed, so the client stays modest on a machine it shares with the server. */
  concurrency: number;
  sockets: number;
  players: number;
  sampleSeconds: number;
  /** Samples before this are left out of the RSS line (caches and JIT fill up first). */
  warmupSeconds: number;
  build: boolean;
}

const USAGE =
  'usage: npm run soak -- [--duration=SECONDS (600)] [--concurrency=N (12)] [--sockets=N (8)] [--players=N (64)] ' +
  '[--sample=SECONDS] [--warmup=SECONDS] [--no-build]';

export function parseOptions(args: string[]): SoakOptions {
  const values = new Map<string, string>();
  let build = true;
  for (const arg of args) {
    if (arg === '--no-build') build = false;
    else if (arg === '--help' || arg === '-h') throw new Error(USAGE);
    else {
      const match = /^--([a-z]+)=(\d+(?:\.\d+)?)$/.exec(arg);
      if (!match) throw new Error(`unknown argument ${arg}\n${USAGE}`);
      values.set(match[1]!, match[2]!);
    }
  }
  const known = ['duration', 'concurrency', 'sockets', 'players', 'sample', 'warmup'];
  for (const name of values.keys()) if (!known.includes(name)) throw new Error(`unknown option --${name}\n${USAGE}`);
  const number = (name: string, fallback: number, min: number) => {
    const value = values.has(name) ? Number(values.get(name)) : fallback;
    if (!(value >= min)) throw new Error(`--${name} must be at least ${min}\n${USAGE}`);
    return value;
  };
  const durationSeconds = number('duration', 600, 5);
  const concurrency = Math.round(number('concurrency', 12, 1));
  const players = Math.round(number('players', Math.max(64, concurrency * 4), concurrency + 1));
  return {
    durationSeconds,
    concurrency,
    sockets: Math.round(number('sockets', 8, 0)),
    players,
    // About 60 samples whatever the duration, every 2 to 10 s.
    sampleSeconds: number('sample', Math.min(10, Math.max(2, durationSeconds / 60)), 1),
    warmupSeconds: number('warmup', Math.min(120, Math.max(10, durationSeconds / 4)), 0),
    build,
  };
}
