/** How local game servers are started: the default command, the port placeholder, a scrubbed environment. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../../../internal/paths.js';

export const PORT_PLACEHOLDER = '{port}';

/**
 * The command of a local game server when its fleet names none: the echo server shipped with ggscale,
 * started through the same CLI that runs this server (`ggscale gameserver --port N`). Built, this code is
 * part of the bundle in dist/ (cli.js or one of its chunks) and the CLI is dist/cli.js; from source (tsx),
 * the CLI is src/cli.ts, run through the same loader.
 */
export function defaultGameServerCommand(): string[] {
  const here = fileURLToPath(import.meta.url);
  const source = join(packageRoot, 'src', 'cli.ts');
  if (here.endsWith('.ts') && existsSync(source)) {
    // The loader by URL, so it resolves whatever the working directory is.
    return [process.execPath, '--import', import.meta.resolve('tsx'), source, 'gameserver', '--port', PORT_PLACEHOLDER];
  }
  return [process.execPath, join(packageRoot, 'dist', 'cli.js'), 'gameserver', '--port', PORT_PLACEHOLDER];
}

/** The argv of one server: `{port}` in any argument becomes its port. */
export function resolveCommand(command: readonly string[], port: number): string[] {
  return command.map((part) => part.split(PORT_PLACEHOLDER).join(String(port)));
}

/**
 * The child's environment: only what a process needs to run, plus the Agones variables. ggscale's own
 * environment (database URL, operator token, secrets) never reaches a game server.
 */
export function gameServerEnv(port: number, name: string, owner: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'SYSTEMROOT', 'WINDIR']) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return {
    ...env,
    PORT: String(port),
    GGSCALE_GAME_SERVER: name,
    // For the orphan sweep and the echo server's parent watchdog (see orphans.ts).
    GGSCALE_FLEET_OWNER: owner,
    GGSCALE_PARENT_PID: String(process.pid),
  };
}
