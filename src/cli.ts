#!/usr/bin/env node
/**
 * The `ggscale` command: serve (default), migrate. Errors in the configuration stop the start with one
 * line naming the variable and a non-zero exit.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { ConfigError, loadConfig, type Config } from './app/config.js';
import { DataDirLockedError } from './internal/db/lockfile.js';
import { packageRoot } from './internal/paths.js';
import { ListenError } from './start/listen-error.js';

function commitFromBuild(): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(packageRoot, 'dist', 'build-info.json'), 'utf8')) as { commit?: string }).commit;
  } catch {
    return undefined;
  }
}

function config(): Config {
  const loaded = loadConfig(process.env);
  if (loaded.commit === 'unknown') loaded.commit = commitFromBuild() ?? 'unknown';
  if (loaded.databaseUrl === undefined) embeddedDatabaseFlags();
  return loaded;
}

/**
 * The embedded database is PostgreSQL compiled to WebAssembly, run in a worker thread. V8 first compiles it
 * with its baseline compiler (Liftoff) and then recompiles hot functions with its optimizing one in the
 * background; on two cores that recompilation held up the worker's first messages by ~0.1–0.2 s after it
 * opened (readyz at ~0.8 s), and the embedded read throughput was the same without it (measured: storage
 * GET ~1,300 req/s either way, bench/storage-style load). So the embedded server keeps the baseline code.
 * Set before the worker compiles the module (the flag is process-wide and read at compile time).
 */
function embeddedDatabaseFlags(): void {
  setFlagsFromString('--liftoff-only');
}

async function main(argv: string[]): Promise<number> {
  const [command = 'serve', ...rest] = argv;
  switch (command) {
    case 'serve': {
      const loaded = config();
      // argon2 hashes run on libuv's thread pool, as do WebCrypto (token signing) and file I/O: give the
      // pool room beyond the hashes so those never queue behind a burst of logins. Read once, at first use.
      process.env.UV_THREADPOOL_SIZE ??= String(loaded.auth.hashConcurrency + 4);
      const { serve } = await import('./start/serve.js');
      const server = await serve(loaded);
      const stop = (signal: string) => {
        void server.shutdown(signal).then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
      return -1; // keep running
    }
    case 'migrate': {
      const { runMigrateCommand } = await import('./start/migrate-command.js');
      return runMigrateCommand(config(), rest);
    }
    case 'bootstrap': {
      const { runBootstrapCommand } = await import('./start/bootstrap-command.js');
      return runBootstrapCommand(config(), rest);
    }
    case 'keys': {
      const { runKeysCommand } = await import('./start/keys-command.js');
      return runKeysCommand(config(), rest);
    }
    case 'gameserver': {
      // The echo game server the local fleet backend spawns (Agones' simple-game-server protocol).
      const { runGameServerCli } = await import('./modules/fleet/gameserver/echo-server.js');
      await runGameServerCli(rest, process.env);
      return 0;
    }
    case 'help':
    case '--help':
      process.stdout.write('usage: ggscale [serve | migrate [up | down [N] | status] | bootstrap --tenant NAME --project NAME | keys rotate | gameserver --port N [--host ADDRESS] [--require-match-token [--jwks-url URL] [--issuer ISS]]]\n');
      return 0;
    default:
      process.stderr.write(`ggscale: unknown command "${command}" (try ggscale help)\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof ConfigError) process.stderr.write(`ggscale: configuration error: ${error.message}\n`);
    else if (error instanceof DataDirLockedError || error instanceof ListenError) process.stderr.write(`ggscale: ${error.message}\n`);
    else process.stderr.write(`ggscale: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
