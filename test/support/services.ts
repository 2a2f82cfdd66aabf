/**
 * Throwaway PostgreSQL and Redis servers that a test owns, for fault injection: each lives in its own temp
 * folder on a free port, so a test may stop, kill and restart it without touching the machine's shared
 * services. Missing binaries fail the tests in CI (GGSCALE_REQUIRE_FAULT_SERVICES=1) and skip them elsewhere.
 *
 * Cleanup is always attempted: call destroy() in an `after` hook; an 'exit' handler stops whatever is still
 * running if the test process ends without it (PostgreSQL daemonises, so it would outlive us otherwise).
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './process.js';

const run = promisify(execFile);

/** Stopped synchronously at process exit (or on a signal) if a test did not destroy them. */
const live = new Set<{ destroySync(): void }>();
const destroyLive = () => {
  for (const service of live) service.destroySync();
};
process.once('exit', destroyLive);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    destroyLive();
    // Ours was the only handler: die of the signal as we would have without it.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  });
}

function onPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, command);
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** The directory holding initdb and pg_ctl: pg_config's, else the newest /usr/lib/postgresql/N/bin, else PATH. */
export function postgresBinDir(): string {
  const fromPgConfig = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  const candidates: string[] = [];
  if (fromPgConfig.status === 0) candidates.push(fromPgConfig.stdout.trim());
  if (existsSync('/usr/lib/postgresql')) {
    const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((version) => `/usr/lib/postgresql/${version}/bin`));
  }
  const initdb = onPath('initdb');
  if (initdb) candidates.push(dirname(realpathSync(initdb)));
  const found = candidates.find((dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl')));
  if (!found) {
    throw new Error(
      'fault-injection tests need the PostgreSQL server binaries (initdb, pg_ctl): none found via pg_config --bindir, ' +
        '/usr/lib/postgresql/*/bin or PATH. Install them (e.g. apt-get install postgresql-15).',
    );
  }
  return found;
}

export function redisServerBinary(): string {
  const found = onPath('redis-server');
  if (!found) throw new Error('fault-injection tests need redis-server on PATH. Install it (e.g. apt-get install redis-server).');
  return found;
}

/**
 * The `skip` option of a suite that starts its own services. The tests run wherever the binaries are
 * installed; where they are not, a newcomer's `npm test` skips them with the reason, and CI (which sets
 * GGSCALE_REQUIRE_FAULT_SERVICES=1) runs them anyway, so they fail with the install hint instead.
 */
export function skipUnlessServices(needs: ('postgres' | 'redis')[]): string | false {
  if (process.env.GGSCALE_REQUIRE_FAULT_SERVICES === '1') return false;
  const missing: string[] = [];
  for (const need of needs) {
    try {
      if (need === 'postgres') postgresBinDir();
      else redisServerBinary();
    } catch (error) {
      missing.push((error as Error).message);
    }
  }
  return missing.length > 0 ? missing.join(' ') : false;
}

const isRoot = () => process.getuid?.() === 0;

/** PostgreSQL refuses to run as root: as root we run its tools as the postgres OS user. */
function postgresUser(): { uid: number; gid: number } | undefined {
  if (!isRoot()) return undefined;
  const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) {
    throw new Error('fault-injection tests run as root and need a "postgres" OS user to run PostgreSQL as.');
  }
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

export type PostgresStopMode = 'smart' | 'fast' | 'immediate';

export class OwnPostgres {
  readonly url: string;
  private readonly dataDir: string;
  private readonly logFile: string;
  /** Set once stopped and removed: until then the exit handler still cleans up. */
  private cleaned = false;

  private constructor(
    private readonly dir: string,
    private readonly binDir: string,
    private readonly asPostgres: boolean,
    readonly port: number,
    private readonly tls: boolean,
  ) {
    this.dataDir = join(dir, 'data');
    this.logFile = join(dir, 'postgres.log');
    this.url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  }

  /**
   * initdb into a fresh temp folder and start it (about a second). `password`: TCP logins need it, by
   * SCRAM-SHA-256 (the Unix socket stays trusted); `tls`: the server also accepts TLS, with a self-signed
   * certificate made here: for CN=localhost and no subjectAltName, or with the given subjectAltName (e.g.
   * 'IP:127.0.0.1') and a CN that names no host (TLS clients fall back to the CN when no DNS name is listed).
   */
  static async create(options: { password?: string; tls?: boolean | { subjectAltName: string } } = {}): Promise<OwnPostgres> {
    const binDir = postgresBinDir();
    const user = postgresUser();
    const dir = mkdtempSync(join(tmpdir(), 'ggscale-pg-'));
    if (user) chownSync(dir, user.uid, user.gid);
    const pg = new OwnPostgres(dir, binDir, user !== undefined, await freePort(), options.tls !== undefined && options.tls !== false);
    live.add(pg);
    try {
      const auth = ['-A', 'trust'];
      if (options.password !== undefined) {
        const passwordFile = join(dir, 'password');
        writeFileSync(passwordFile, options.password + '\n', { mode: 0o600 });
        if (user) chownSync(passwordFile, user.uid, user.gid);
        auth.splice(0, 2, '--auth-host=scram-sha-256', '--auth-local=trust', `--pwfile=${passwordFile}`);
      }
      await pg.tool('initdb', ['-D', pg.dataDir, '-U', 'postgres', ...auth, '-E', 'UTF8', '--locale=C', '--no-sync']);
      if (options.tls) {
        const names = typeof options.tls === 'object' ? ['-subj', '/CN=ggscale test server', '-addext', `subjectAltName=${options.tls.subjectAltName}`] : ['-subj', '/CN=localhost'];
        await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', ...names, '-keyout', join(dir, 'server.key'), '-out', join(dir, 'server.crt')], {
          timeout: 60_000,
        });
        for (const file of ['server.key', 'server.crt']) {
          chmodSync(join(dir, file), 0o600);
          if (user) chownSync(join(dir, file), user.uid, user.gid);
        }
      }
      await pg.start();
    } catch (error) {
      await pg.destroy();
      throw error;
    }
    return pg;
  }

  private tool(name: string, args: string[]) {
    const binary = join(this.binDir, name);
    const [command, argv] = this.asPostgres ? ['runuser', ['-u', 'postgres', '--', binary, ...args]] : [binary, args];
    return run(command, argv, { timeout: 60_000, encoding: 'utf8' }).catch((error: Error & { stderr?: string }) => {
      throw new Error(`${name} failed: ${error.message}\n${error.stderr ?? ''}\n${this.log().slice(-2000)}`);
    });
  }

  /** Starts the server and returns once it accepts connections (pg_ctl -w). */
  async start(): Promise<void> {
    // fsync off: these tests kill the server process, never the machine, so the OS cache keeps every
    // committed WAL record; the socket stays in our own folder, away from the shared server's.
    const options = [
      `-c port=${this.port}`,
      '-c listen_addresses=127.0.0.1',
      `-c unix_socket_directories=${this.dir}`,
      '-c fsync=off',
      '-c max_connections=60',
      ...(this.tls ? ['-c ssl=on', `-c ssl_cert_file=${join(this.dir, 'server.crt')}`, `-c ssl_key_file=${join(this.dir, 'server.key')}`] : []),
    ].join(' ');
    await this.tool('pg_ctl', ['start', '-w', '-t', '30', '-D', this.dataDir, '-l', this.logFile, '-o', options]);
  }

  /** fast: disconnects clients and shuts down cleanly; immediate: exits at once (a crash, recovered at start). */
  async stop(mode: PostgresStopMode = 'fast'): Promise<void> {
    await this.tool('pg_ctl', ['stop', '-w', '-t', '30', '-m', mode, '-D', this.dataDir]);
  }

  /** The server's self-signed certificate (with the tls option). */
  get certificateFile(): string {
    return join(this.dir, 'server.crt');
  }

  log(): string {
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  async destroy(): Promise<void> {
    if (this.cleaned) return;
    if (existsSync(join(this.dataDir, 'postmaster.pid'))) await this.stop('immediate').catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
    this.cleaned = true;
    live.delete(this);
  }

  destroySync(): void {
    if (this.cleaned) return;
    this.cleaned = true;
    if (existsSync(join(this.dataDir, 'postmaster.pid'))) {
      const binary = join(this.binDir, 'pg_ctl');
      const args = ['stop', '-w', '-m', 'immediate', '-D', this.dataDir];
      spawnSync(this.asPostgres ? 'runuser' : binary, this.asPostgres ? ['-u', 'postgres', '--', binary, ...args] : args);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export class OwnRedis {
  readonly url: string;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private output = '';
  private cleaned = false;

  private constructor(
    private readonly dir: string,
    private readonly binary: string,
    readonly port: number,
  ) {
    this.url = `redis://127.0.0.1:${port}`;
  }

  static async create(): Promise<OwnRedis> {
    const binary = redisServerBinary();
    const redis = new OwnRedis(mkdtempSync(join(tmpdir(), 'ggscale-redis-')), binary, await freePort());
    live.add(redis);
    try {
      await redis.start();
    } catch (error) {
      await redis.destroy();
      throw error;
    }
    return redis;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** Starts redis-server (no persistence) on the same port and returns once it logs that it is ready. */
  async start(): Promise<void> {
    if (this.child) throw new Error('redis-server is already running');
    const child = spawn(
      this.binary,
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    this.exited = new Promise((resolve) =>
      child.once('exit', () => {
        if (this.child === child) this.child = undefined;
        resolve();
      }),
    );
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server did not start within 15 s:\n${this.output}`)), 15_000);
      const onData = (chunk: Buffer) => {
        this.output = (this.output + chunk.toString()).slice(-4000);
        if (this.output.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited with ${code}:\n${this.output}`));
      });
    });
    this.output = '';
  }

  /** SIGTERM is a clean shutdown (nothing saved: no persistence); SIGKILL is a crash. */
  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGKILL'): Promise<void> {
    if (!this.child) return;
    this.child.kill(signal);
    await this.exited;
  }

  async destroy(): Promise<void> {
    if (this.cleaned) return;
    await this.stop('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
    this.cleaned = true;
    live.delete(this);
  }

  destroySync(): void {
    if (this.cleaned) return;
    this.cleaned = true;
    this.child?.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}
