/**
 * Our own pool of PostgreSQL connections (wire/connection.ts), each held by one transaction at a time (its
 * statements still pipeline on that connection). A connection that closes, or fails for a connection-level
 * reason, is never written to again: it is destroyed at once (which also fails statements still queued on it,
 * rather than letting them run on a fresh session outside their transaction) and its slot gets a fresh
 * connection when next needed. (postgres.js's reserve() got this wrong, porsager/postgres#1208 and #1154:
 * restarting PostgreSQL under load killed or wedged the process; test/db/lost-connection.test.ts.)
 *
 * A connection goes back to the pool only if it is clean: idle ('I', no transaction open or failed) with no
 * statement in flight; any other is destroyed, so the server rolls back whatever it held and the next caller's
 * work never runs inside it. Waiting is bounded three ways: by the caller's signal (the request's deadline),
 * by acquireTimeoutMs, and by the number of waiters (maxWaiting), past which an acquire fails at once.
 */
import { deadlineExceeded } from '../deadline.js';
import type { Queryable, Row, SqlParam } from './database.js';
import { connectionLost, isConnectionLost } from './errors.js';
import type { PgConnection, StatementList } from './wire/connection.js';

export const DEFAULT_MAX_LIFETIME_MS = 30 * 60_000;
export const DEFAULT_ACQUIRE_TIMEOUT_MS = 10_000;
/**
 * Default bound on waiters: 4 × size, but never under this. A burst of a few hundred short transactions on a
 * healthy database clears in milliseconds and must not be refused; the bound is for a database that stopped
 * answering, where waiters would otherwise pile up until their timeouts.
 */
export const MIN_DEFAULT_MAX_WAITING = 256;

/**
 * A connection's own lifetime: maxLifetimeMs ± 10%, so that connections opened together (at start, or after
 * a restart of the server) are not all retired at the same moment. 0 or less: unlimited.
 */
export function connectionLifetimeMs(maxLifetimeMs: number, random: () => number = Math.random): number {
  if (!(maxLifetimeMs > 0)) return Infinity;
  return maxLifetimeMs * (0.9 + 0.2 * random());
}

/** One connection, told when it closes; closed by the pool after idleTimeoutMs unused or past its lifetime. */
class Slot {
  lost = false;
  idleSince = 0;
  readonly retireAt: number;
  readonly connection: PgConnection;

  constructor(create: (onClose: () => void) => PgConnection, lifetimeMs: number) {
    this.retireAt = performance.now() + lifetimeMs;
    this.connection = create(() => this.lose());
  }

  lose(): void {
    if (this.lost) return;
    this.lost = true;
    this.connection.destroy();
  }

  /** Safe to hand to the next caller: idle, nothing in flight. */
  get clean(): boolean {
    return !this.lost && this.connection.transactionStatus === 'I' && this.connection.inFlight === 0;
  }
}

function leaseReleased(): Error {
  return Object.assign(new Error('this database lease was already released: its connection may serve someone else now'), { code: 'LEASE_RELEASED' });
}

/**
 * One transaction's hold on a connection, until release(). After release every method fails with
 * LEASE_RELEASED (a second release() does nothing).
 */
export class Lease implements Queryable {
  private slot: Slot | undefined;

  constructor(
    slot: Slot,
    private readonly onRelease: (slot: Slot) => void,
  ) {
    this.slot = slot;
  }

  /**
   * Statements and one Sync, sent at once: a caller may queue several without awaiting, and they pipeline. If
   * `signal` aborts first: DEADLINE_EXCEEDED at once, the statement cancelled and the connection destroyed.
   */
  pipeline(statements: StatementList, signal?: AbortSignal): Promise<Row[][]> {
    const slot = this.slot;
    if (!slot) return Promise.reject(leaseReleased());
    if (slot.lost) return Promise.reject(connectionLost());
    const pending = slot.connection.pipeline(statements, signal);
    // Registered before the caller's own handlers, so the slot is marked before anyone sees the failure.
    pending.catch((error: unknown) => {
      if (isConnectionLost(error)) slot.lose();
    });
    return pending;
  }

  async query<T extends object>(text: string, params: readonly SqlParam[] = [], signal?: AbortSignal): Promise<T[]> {
    const [rows] = await this.pipeline([[text, params]], signal);
    return rows as T[];
  }

  /**
   * Rolls back the open transaction. Never fails for the database's sake (the caller is already handling a
   * failure): if the ROLLBACK cannot run, the connection is destroyed, which rolls back as well.
   */
  async rollback(): Promise<void> {
    const slot = this.slot;
    if (!slot) throw leaseReleased();
    if (slot.lost) return;
    try {
      await this.query('rollback');
    } catch {
      slot.lose();
    }
  }

  release(): void {
    const slot = this.slot;
    if (!slot) return;
    this.slot = undefined;
    this.onRelease(slot);
  }
}

export interface ConnectionPoolOptions {
  size: number;
  /** A new connection that calls onClose when it closes. */
  create: (onClose: () => void) => PgConnection;
  /** An idle connection is closed after this long (the server's memory per session is given back). */
  idleTimeoutMs: number;
  /** A connection is retired (on release, or while idle) after this long, ±10%. Default 30 min; 0: never. */
  maxLifetimeMs?: number;
  /**
   * Callers that may wait for a connection; past that, acquire fails at once with POOL_QUEUE_FULL. Default
   * max(4 × size, MIN_DEFAULT_MAX_WAITING).
   */
  maxWaiting?: number;
  /** An acquire that waited this long fails with POOL_TIMEOUT. Default 10 s. */
  acquireTimeoutMs?: number;
}

export interface PoolStats {
  /** Connections open or opening, leased or idle (at most size). */
  open: number;
  idle: number;
  waiting: number;
}

interface Waiter {
  resolve: (slot: Slot) => void;
  reject: (error: Error) => void;
  /** Clears its timer and stops listening to its signal. */
  detach: () => void;
}

function poolClosed(): Error {
  return Object.assign(new Error('the database pool is closed'), { code: 'CONNECTION_ENDED' });
}

export class ConnectionPool {
  private readonly idle: Slot[] = [];
  private readonly waiters: Waiter[] = [];
  private readonly all = new Set<Slot>();
  private closing = false;
  private readonly idleSweep: NodeJS.Timeout;
  private readonly maxLifetimeMs: number;
  private readonly maxWaiting: number;
  private readonly acquireTimeoutMs: number;

  constructor(private readonly options: ConnectionPoolOptions) {
    this.maxLifetimeMs = options.maxLifetimeMs ?? DEFAULT_MAX_LIFETIME_MS;
    this.maxWaiting = options.maxWaiting ?? Math.max(4 * options.size, MIN_DEFAULT_MAX_WAITING);
    this.acquireTimeoutMs = options.acquireTimeoutMs ?? DEFAULT_ACQUIRE_TIMEOUT_MS;
    this.idleSweep = setInterval(() => this.closeIdle(), Math.max(options.idleTimeoutMs / 4, 100));
    this.idleSweep.unref();
  }

  /**
   * A connection of the pool's, when one is free or can be opened; else a place in the queue of waiters.
   * Fails with POOL_QUEUE_FULL (queue full), POOL_TIMEOUT (waited acquireTimeoutMs), DEADLINE_EXCEEDED
   * (`signal` aborted, before or while waiting) or CONNECTION_ENDED (pool closed).
   */
  async acquire(signal?: AbortSignal): Promise<Lease> {
    if (this.closing) throw poolClosed();
    if (signal?.aborted) throw deadlineExceeded();
    const slot = this.takeIdle() ?? (this.all.size < this.options.size ? this.createSlot() : await this.wait(signal));
    return new Lease(slot, (released) => this.release(released));
  }

  stats(): PoolStats {
    return { open: this.all.size, idle: this.idle.length, waiting: this.waiters.length };
  }

  async close(timeoutSeconds: number): Promise<void> {
    this.closing = true;
    clearInterval(this.idleSweep);
    for (const waiter of this.waiters.splice(0)) {
      waiter.detach();
      waiter.reject(poolClosed());
    }
    await Promise.all([...this.all].map((slot) => slot.connection.end(timeoutSeconds * 1000)));
  }

  private wait(signal: AbortSignal | undefined): Promise<Slot> {
    if (this.waiters.length >= this.maxWaiting) {
      return Promise.reject(
        Object.assign(new Error(`all ${this.options.size} database connections are busy and ${this.waiters.length} callers already wait for one`), { code: 'POOL_QUEUE_FULL' }),
      );
    }
    return new Promise<Slot>((resolve, reject) => {
      const leave = (error: Error) => {
        const index = this.waiters.indexOf(waiter);
        if (index < 0) return;
        this.waiters.splice(index, 1);
        waiter.detach();
        reject(error);
      };
      const timer = setTimeout(
        () => leave(Object.assign(new Error(`no database connection was free within ${this.acquireTimeoutMs} ms`), { code: 'POOL_TIMEOUT' })),
        this.acquireTimeoutMs,
      );
      const onAbort = () => leave(deadlineExceeded());
      signal?.addEventListener('abort', onAbort, { once: true });
      const waiter: Waiter = {
        resolve,
        reject,
        detach: () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
        },
      };
      this.waiters.push(waiter);
    });
  }

  /** Hands the slot to the longest waiter, if any. */
  private serveWaiter(slot: Slot): boolean {
    const waiter = this.waiters.shift();
    if (!waiter) return false;
    waiter.detach();
    waiter.resolve(slot);
    return true;
  }

  private createSlot(): Slot {
    const slot = new Slot(this.options.create, connectionLifetimeMs(this.maxLifetimeMs));
    this.all.add(slot);
    return slot;
  }

  /** An idle connection still open and within its lifetime (others are closed and replaced). */
  private takeIdle(): Slot | undefined {
    const now = performance.now();
    for (let slot = this.idle.pop(); slot; slot = this.idle.pop()) {
      if (!slot.lost && slot.retireAt > now) return slot;
      this.retire(slot);
    }
    return undefined;
  }

  private release(slot: Slot): void {
    // In a transaction, or with statements in flight: destroyed, so the server rolls back what it held.
    if (!slot.clean) slot.lose();
    if (slot.lost || this.closing || slot.retireAt <= performance.now()) {
      this.retire(slot);
      // The freed place gets a fresh connection for whoever waits.
      if (!this.closing && this.waiters.length > 0) this.serveWaiter(this.createSlot());
      return;
    }
    if (this.serveWaiter(slot)) return;
    slot.idleSince = performance.now();
    this.idle.push(slot);
  }

  /** Out of the pool: a connection still open is closed politely (it is idle). */
  private retire(slot: Slot): void {
    this.all.delete(slot);
    if (!slot.lost) void slot.connection.end(1_000);
  }

  /** Connections idle for idleTimeoutMs, or past their lifetime, are closed. */
  private closeIdle(): void {
    const now = performance.now();
    const cutoff = now - this.options.idleTimeoutMs;
    for (let i = this.idle.length - 1; i >= 0; i--) {
      const slot = this.idle[i]!;
      if (slot.lost || slot.idleSince < cutoff || slot.retireAt <= now) {
        this.idle.splice(i, 1);
        this.retire(slot);
      }
    }
  }
}
