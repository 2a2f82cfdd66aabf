/**
 * The postgres.js driver's connections (postgres-js.ts): each one a postgres.js client of its own (max: 1),
 * held by one transaction at a time, whose statements pipeline (BEGIN, the scope and the first statement
 * leave in one write). The pool bounds how many wait for a connection and for how long, and a request's
 * deadline ends the wait, or the transaction: its statement cancelled, its connection dropped so that the
 * server rolls it back, never handed on mid-transaction.
 *
 * Why not postgres.js's own pool with sql.begin() / sql.reserve() (3.4.9): when a connection is lost under a
 * transaction, sql.begin still writes its ROLLBACK, and a reserved connection its next statement, to the
 * closed socket, an uncatchable TypeError that ends the process (porsager/postgres#1208, #1154); releasing a
 * reserved connection whose backend died puts it back among the open ones (#1199); and once the client
 * reconnects, the statements still queued for the lost transaction run on the new session, outside any
 * transaction. Here a connection that closes is dead: its socket factory refuses to open another, so nothing
 * queued for it reaches a new session, and the transaction holding it fails. Query.cancel() is not used
 * either: when its cancel connection fails (a server restarting) it leaves an unhandled rejection.
 */
import net from 'node:net';
import postgres, { type Options, type PendingQuery, type PostgresType, type Sql, type UnsafeQueryOptions } from 'postgres';
import { deadlineExceeded } from '../deadline.js';
import type { Queryable, Row, SqlParam } from './database.js';
import { connectionLost, isConnectionLost } from './errors.js';
import { DEFAULT_ACQUIRE_TIMEOUT_MS, DEFAULT_MAX_LIFETIME_MS, MIN_DEFAULT_MAX_WAITING, connectionLifetimeMs } from './postgres-pool.js';
import type { PostgresJsSettings } from './postgres-js-settings.js';
import type { ConnectionTarget } from './wire/connection-options.js';

/** Past this many distinct statements (postgres.js prepares and keeps each one), a connection is retired. */
const MAX_PREPARED = 500;
const CANCEL_TIMEOUT_MS = 5_000;

type Statement = PendingQuery<Row[]>;
/** Extended protocol even without parameters: one statement per call, as with our own client. */
const PREPARED = { prepare: true, simple: false } as UnsafeQueryOptions;

function poolError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/**
 * A CancelRequest for the statement that backend runs (what the server's own clients send): a connection
 * of its own, 16 bytes, answered by the server closing it. Failures are ignored: dropping the connection
 * still rolls the transaction back.
 */
function sendCancelRequest(target: ConnectionTarget, key: postgres.State): void {
  const socket = target.socketPath ? net.connect(target.socketPath) : net.connect(target.port, target.host);
  const message = Buffer.alloc(16);
  message.writeInt32BE(16, 0);
  message.writeInt32BE(80877102, 4);
  message.writeUInt32BE(key.pid, 8);
  message.writeUInt32BE(key.secret, 12);
  socket.setTimeout(CANCEL_TIMEOUT_MS, () => socket.destroy());
  socket.on('error', () => undefined);
  socket.once('connect', () => socket.end(message));
}

/** One connection: a postgres.js client with max: 1 that never opens a second socket once its first closed. */
class Client {
  readonly sql: Sql;
  dead = false;
  idleSince = 0;
  /** The statements prepared on this connection. */
  readonly prepared = new Set<string>();
  /** The transaction holding it, failed when the connection closes. */
  holder: PostgresJsLease | undefined;
  /** The backend's process id and cancel key, known from the first answer. */
  backend: postgres.State | undefined;
  /** Past this (performance.now()), the connection is retired when next released (the wire pool's lifetime). */
  readonly retireAt = performance.now() + connectionLifetimeMs(DEFAULT_MAX_LIFETIME_MS);
  private socket: net.Socket | undefined;

  constructor(private readonly settings: PostgresJsSettings) {
    const options = {
      ...settings.options,
      max: 1,
      socket: () => this.openSocket(),
      onclose: () => this.kill(connectionLost()),
    };
    this.sql = postgres(options as Options<Record<string, PostgresType>>);
  }

  private openSocket(): net.Socket {
    if (this.dead) throw connectionLost();
    const { target } = this.settings;
    this.socket = target.socketPath ? net.connect(target.socketPath) : net.connect(target.port, target.host);
    this.socket.setNoDelay(true);
    // What postgres.js reads from its own sockets: the TLS server name, and the address in its error messages.
    return Object.assign(this.socket, { host: target.host, port: target.port });
  }

  cancelRunning(): void {
    if (this.backend && !this.dead) sendCancelRequest(this.settings.target, this.backend);
  }

  /** Ends this connection for good (lost, or dropped mid-transaction): the server rolls back what it held. */
  kill(error: Error): void {
    if (this.dead) return;
    this.dead = true;
    this.socket?.destroy();
    this.sql.end({ timeout: 0 }).catch(() => undefined);
    const holder = this.holder;
    // postgres.js first rejects the statements it had sent, with the cause it saw (an authentication
    // failure, say); whatever is still waiting fails with the lease a moment later.
    if (holder) setImmediate(() => holder.fail(error));
  }

  /** Closes an idle connection (after its statements answered). */
  retire(): void {
    if (this.dead) return;
    this.dead = true;
    this.sql.end({ timeout: 5 }).catch(() => undefined);
  }
}

interface Pending {
  statement: Statement;
  reject: (error: Error) => void;
}

/** What a transaction gets when the server stopped answering (the wire client's error, mapped to 503). */
function unansweredError(timeoutMs: number): Error {
  return Object.assign(new Error(`PostgreSQL did not answer within ${timeoutMs} ms; the statement was cancelled and the connection discarded`), { code: 'ETIMEDOUT' });
}

/** One transaction's hold on a connection. */
export class PostgresJsLease implements Queryable {
  /** Statements sent and not answered, oldest first. */
  private readonly pending: Pending[] = [];
  private failure: Error | undefined;
  /** A ROLLBACK that failed: the connection may still be inside the transaction. */
  private unclean = false;
  private released = false;
  /** Told when the lease fails (connection lost, deadline passed): guard()'s race, made only when needed. */
  private onFailure: ((error: Error) => void) | undefined;
  private stopWatching: (() => void) | undefined;
  /** When the server last answered (or was first asked), for the unanswered timeout. */
  private lastProgress = 0;
  private unansweredTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly client: Client,
    private readonly onRelease: (client: Client, reusable: boolean) => void,
    /** No answer for this long while a statement is pending: the server is frozen or unreachable (0: never). */
    private readonly unansweredTimeoutMs: number,
  ) {
    client.holder = this;
  }

  query<T extends object = Row>(text: string, params: readonly SqlParam[] = []): Promise<T[]> {
    return this.send(text, params, true) as Promise<T[]>;
  }

  /** A statement without parameters in the simple protocol (BEGIN, COMMIT, ROLLBACK): nothing to prepare. */
  async command(text: string): Promise<void> {
    await this.send(text, [], false);
  }

  async rollback(): Promise<void> {
    if (this.failure || this.released || this.client.dead) return;
    await this.command('rollback').catch(() => (this.unclean = true));
  }

  /** Fails the lease when `signal` aborts: the statement running is cancelled and the connection dropped. */
  watch(signal: AbortSignal): void {
    const onAbort = () => this.abort(deadlineExceeded());
    signal.addEventListener('abort', onAbort, { once: true });
    this.stopWatching = () => signal.removeEventListener('abort', onAbort);
  }

  /**
   * Work on this lease (fn of a transaction, which may wait on anything), rejected as soon as the lease fails
   * even if the work itself never settles. (Statements alone need no guard: a failure rejects them all.)
   */
  guard<T>(work: Promise<T>): Promise<T> {
    if (this.failure) {
      work.catch(() => undefined);
      return Promise.reject(this.failure);
    }
    return new Promise<T>((resolve, reject) => {
      this.onFailure = reject;
      work.then(resolve, reject);
    });
  }

  private send(text: string, params: readonly SqlParam[], prepared: boolean): Promise<Row[]> {
    const refusal = this.failure ?? (this.released ? poolError('LEASE_RELEASED', 'this database lease was released') : this.client.dead ? connectionLost() : undefined);
    if (refusal) return Promise.reject(refusal);
    const { sql } = this.client;
    if (prepared) this.client.prepared.add(text);
    const statement = (prepared ? sql.unsafe<Row[]>(text, params as unknown as postgres.ParameterOrJSON<never>[], PREPARED) : sql.unsafe<Row[]>(text)).execute();
    if (this.pending.length === 0) this.lastProgress = performance.now();
    this.armUnansweredTimer();
    return new Promise((resolve, reject) => {
      const entry: Pending = { statement, reject };
      this.pending.push(entry);
      statement.then(
        (result) => {
          this.forget(entry);
          this.client.backend ??= result.state;
          // A plain array (postgres.js answers with an Array subclass carrying the statement's details).
          resolve(result.slice());
        },
        (error: Error) => {
          this.forget(entry);
          if (isConnectionLost(error)) this.client.kill(error);
          reject(error);
        },
      );
    });
  }

  private forget(entry: Pending): void {
    this.lastProgress = performance.now();
    const index = this.pending.indexOf(entry);
    if (index >= 0) this.pending.splice(index, 1);
  }

  /**
   * Work without a request deadline (background jobs, start-up) still gives up on a server that stopped
   * answering: the server cancels a statement itself at statement_timeout, so no answer long after it means a
   * frozen server or a dead network. One timer per transaction, re-armed from the last answer.
   */
  private armUnansweredTimer(): void {
    if (this.unansweredTimer || this.unansweredTimeoutMs <= 0) return;
    const check = () => {
      this.unansweredTimer = undefined;
      if (this.pending.length === 0 || this.failure || this.released) return;
      const waited = performance.now() - this.lastProgress;
      if (waited >= this.unansweredTimeoutMs) return this.abort(unansweredError(this.unansweredTimeoutMs));
      this.unansweredTimer = setTimeout(check, this.unansweredTimeoutMs - waited);
      this.unansweredTimer.unref();
    };
    this.unansweredTimer = setTimeout(check, this.unansweredTimeoutMs);
    this.unansweredTimer.unref();
  }

  /** The connection is gone: every statement still waiting fails, and so does everything sent later. */
  fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    for (const entry of this.pending.splice(0)) entry.reject(error);
    this.onFailure?.(error);
  }

  /** Gives up on the transaction now: its statement cancelled on the server, its connection dropped. */
  abort(error: Error): void {
    if (this.failure) return;
    if (this.pending.length > 0) this.client.cancelRunning();
    this.fail(error);
    this.client.kill(error);
  }

  release(): void {
    if (this.released) return;
    // A statement still in flight (fn did not await it): the connection cannot be handed on.
    if (this.pending.length > 0) this.abort(poolError('LEASE_RELEASED', 'a statement was still running when its transaction ended'));
    this.released = true;
    this.stopWatching?.();
    clearTimeout(this.unansweredTimer);
    this.client.holder = undefined;
    this.onRelease(this.client, this.failure === undefined && !this.unclean);
  }
}

export interface PostgresJsPoolOptions {
  settings: PostgresJsSettings;
  size: number;
  /**
   * Callers that may wait for a connection; past this, acquire fails at once with POOL_QUEUE_FULL. Default, as
   * for the wire pool, max(4 × size, 256): a burst the pool clears in milliseconds queues, a flood is shed.
   */
  maxWaiting?: number;
  /** The longest wait for a connection before POOL_TIMEOUT. Default 10 s, as for the wire pool. */
  acquireTimeoutMs?: number;
  /** An idle connection is closed after this long. */
  idleTimeoutMs: number;
  /** A statement with no answer for this long fails its transaction (ETIMEDOUT) and drops the connection; 0: never. */
  unansweredTimeoutMs: number;
}

interface Waiter {
  resolve: (client: Client) => void;
  reject: (error: Error) => void;
}

export class PostgresJsPool {
  private readonly idle: Client[] = [];
  private readonly waiters: Waiter[] = [];
  private readonly all = new Set<Client>();
  private leased = 0;
  private closing = false;
  private readonly idleSweep: NodeJS.Timeout;

  constructor(private readonly options: PostgresJsPoolOptions) {
    this.idleSweep = setInterval(() => this.closeIdle(), Math.max(options.idleTimeoutMs / 4, 100));
    this.idleSweep.unref();
  }

  /** A connection for one transaction; `signal` (the request's deadline) ends the wait, and later the transaction. */
  async acquire(signal?: AbortSignal): Promise<PostgresJsLease> {
    if (this.closing) throw poolError('CONNECTION_ENDED', 'the database pool is closed');
    if (signal?.aborted) throw deadlineExceeded();
    const client = this.takeIdle() ?? (this.all.size < this.options.size ? this.create() : await this.wait(signal));
    this.leased++;
    const lease = new PostgresJsLease(client, (released, reusable) => this.release(released, reusable), this.options.unansweredTimeoutMs);
    if (signal) lease.watch(signal);
    return lease;
  }

  stats(): { open: number; idle: number; leased: number; waiting: number } {
    return { open: this.all.size, idle: this.idle.length, leased: this.leased, waiting: this.waiters.length };
  }

  async close(timeoutSeconds: number): Promise<void> {
    this.closing = true;
    clearInterval(this.idleSweep);
    for (const waiter of this.waiters.splice(0)) waiter.reject(poolError('CONNECTION_ENDED', 'the database pool is closed'));
    await Promise.all([...this.all].map((client) => client.sql.end({ timeout: timeoutSeconds }).catch(() => undefined)));
    this.all.clear();
  }

  private wait(signal: AbortSignal | undefined): Promise<Client> {
    const maxWaiting = this.options.maxWaiting ?? Math.max(4 * this.options.size, MIN_DEFAULT_MAX_WAITING);
    if (this.waiters.length >= maxWaiting) {
      return Promise.reject(poolError('POOL_QUEUE_FULL', `${maxWaiting} callers are already waiting for a database connection`));
    }
    const timeoutMs = this.options.acquireTimeoutMs ?? DEFAULT_ACQUIRE_TIMEOUT_MS;
    return new Promise<Client>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const index = this.waiters.indexOf(waiter);
        if (index >= 0) this.waiters.splice(index, 1);
      };
      const waiter: Waiter = {
        resolve: (client) => {
          done();
          resolve(client);
        },
        reject: (error) => {
          done();
          reject(error);
        },
      };
      const onAbort = () => waiter.reject(deadlineExceeded());
      const timer = setTimeout(() => waiter.reject(poolError('POOL_TIMEOUT', `no database connection was free within ${timeoutMs} ms`)), timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  private create(): Client {
    const client = new Client(this.options.settings);
    this.all.add(client);
    return client;
  }

  /** An idle connection that is still open (one closed while idle, e.g. by a server restart, is dropped). */
  private takeIdle(): Client | undefined {
    for (let client = this.idle.pop(); client; client = this.idle.pop()) {
      if (!client.dead) return client;
      this.all.delete(client);
    }
    return undefined;
  }

  private release(client: Client, reusable: boolean): void {
    this.leased--;
    if (!reusable || client.dead || this.closing || client.prepared.size > MAX_PREPARED || performance.now() > client.retireAt) {
      this.all.delete(client);
      client.retire();
      // Its slot is free: the next waiter gets a fresh connection.
      const waiter = this.closing ? undefined : this.waiters[0];
      if (waiter) waiter.resolve(this.create());
      return;
    }
    const waiter = this.waiters[0];
    if (waiter) return waiter.resolve(client);
    client.idleSince = performance.now();
    this.idle.push(client);
  }

  /** Connections idle for idleTimeoutMs are closed (the least recently used are at the bottom of the stack). */
  private closeIdle(): void {
    const cutoff = performance.now() - this.options.idleTimeoutMs;
    while (this.idle.length > 0 && this.idle[0]!.idleSince < cutoff) {
      const client = this.idle.shift()!;
      this.all.delete(client);
      client.retire();
    }
  }
}
