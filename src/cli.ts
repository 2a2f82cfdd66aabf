#!/usr/bin/env node
/**
 * The `ggscale` command: serve (default), migrate. Errors in the configuration stop the start with one
 * line naming the variable and a non-zero exit.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadConfig, type Config } from './internal/config/config.js';
import { DataDirLockedError } from './internal/db/lockfile.js';
import { packageRoot } from './internal/paths.js';

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
  return loaded;
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
      process.stdout.write('usage: ggscale [serve | migrate [up | down [N] | status] | bootstrap --tenant NAME --project NAME | keys rotate | gameserver --port N]\n');
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
    else if (error instanceof DataDirLockedError) process.stderr.write(`ggscale: ${error.message}\n`);
    else process.stderr.write(`ggscale: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
