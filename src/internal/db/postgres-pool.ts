/**
 * Our own pool of PostgreSQL connections, each a one-connection postgres.js instance that one transaction
 * holds at a time (its statements still pipeline on that connection). Why not postgres.js's reserve():
 * in 3.4.x it mishandles a reserved connection whose server goes away (porsager/postgres#1208, #1154), and
 * restarting PostgreSQL under load killed or wedged the process:
 * - writing to a reserved connection after its socket closed (our ROLLBACK, or the next user once it was
 *   released) throws an uncatchable TypeError (socket.write on null) from a timer;
 * - a reserve() that fails to connect stays queued in the pool and later swallows a live connection, and a
 *   FATAL received mid-query fails the connection's next reconnect the same way: once every connection is
 *   stranded like that, every request waits forever.
 * Here a connection that closes, or fails for a connection-level reason, is never written to again: its
 * instance is ended at once (which also fails statements still queued for it, rather than letting them run
 * on a fresh session outside their transaction) and the slot gets a fresh instance when next needed.
 */
import type { Sql } from 'postgres';
import type { Queryable, SqlParam } from './database.js';
import { connectionLost, isConnectionLost } from './errors.js';

type Params = Parameters<Sql['unsafe']>[1];
type QueryOptions = Parameters<Sql['unsafe']>[2];

// postgres.js answers a Result (an Array subclass with extra fields); callers get plain arrays on both drivers.
export const plainRows = <T>(result: unknown): T[] => Array.from(result as ArrayLike<T>);

/** One connection: a postgres.js instance limited to one connection, told when that connection closes. */
class Slot {
  lost = false;
  readonly sql: Sql;

  constructor(create: (onClose: () => void) => Sql) {
    this.sql = create(() => this.lose());
  }

  lose(): void {
    if (this.lost) return;
    this.lost = true;
    // timeout 0: statements still queued for this connection fail now instead of running after a reconnect.
    this.sql.end({ timeout: 0 }).catch(() => undefined);
  }
}

/** One transaction's hold on a connection. */
export class Lease implements Queryable {
  private released = false;

  constructor(
    private readonly slot: Slot,
    private readonly queryOptions: QueryOptions,
    private readonly onRelease: (slot: Slot) => void,
  ) {}

  /** Sends at once: a caller may queue several without awaiting, and they are pipelined. */
  send(text: string, params: readonly SqlParam[] = [], options: QueryOptions = this.queryOptions): Promise<unknown> {
    if (this.slot.lost) return Promise.reject(connectionLost());
    const pending = this.slot.sql.unsafe(text, params as Params, options).execute();
    // Registered before the caller's own handlers, so the slot is marked before anyone sees the failure.
    pending.catch((error: unknown) => {
      if (isConnectionLost(error)) this.slot.lose();
    });
    return pending;
  }

  async query<T extends object>(text: string, params: readonly SqlParam[] = []): Promise<T[]> {
    return plainRows<T>(await this.send(text, params));
  }

  async rollback(): Promise<void> {
    if (!this.slot.lost) await this.send('rollback').catch(() => undefined);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.onRelease(this.slot);
  }
}

export interface ConnectionPoolOptions {
  size: number;
  /** A postgres.js instance with max: 1 that calls onClose when its connection closes. */
  create: (onClose: () => void) => Sql;
  queryOptions: QueryOptions;
}

export class ConnectionPool {
  private readonly idle: Slot[] = [];
  private readonly waiters: { resolve: (slot: Slot) => void; reject: (error: Error) => void }[] = [];
  private readonly all = new Set<Slot>();
  private closing = false;

  constructor(private readonly options: ConnectionPoolOptions) {}

  async acquire(): Promise<Lease> {
    if (this.closing) throw Object.assign(new Error('the database pool is closed'), { code: 'CONNECTION_ENDED' });
    const slot =
      this.takeIdle() ??
      (this.all.size < this.options.size
        ? this.createSlot()
        : await new Promise<Slot>((resolve, reject) => this.waiters.push({ resolve, reject })));
    return new Lease(slot, this.options.queryOptions, (released) => this.release(released));
  }

  async close(timeoutSeconds: number): Promise<void> {
    this.closing = true;
    for (const waiter of this.waiters.splice(0)) waiter.reject(Object.assign(new Error('the database pool is closed'), { code: 'CONNECTION_ENDED' }));
    await Promise.all([...this.all].map((slot) => slot.sql.end({ timeout: timeoutSeconds }).catch(() => undefined)));
  }

  private createSlot(): Slot {
    const slot = new Slot(this.options.create);
    this.all.add(slot);
    return slot;
  }

  /** An idle connection that is still open (one closed while idle, e.g. by idle_timeout, is replaced). */
  private takeIdle(): Slot | undefined {
    for (let slot = this.idle.pop(); slot; slot = this.idle.pop()) {
      if (!slot.lost) return slot;
      this.all.delete(slot);
    }
    return undefined;
  }

  private release(slot: Slot): void {
    if (slot.lost || this.closing) {
      this.all.delete(slot);
      if (!slot.lost) slot.sql.end({ timeout: 5 }).catch(() => undefined);
      const waiter = this.closing ? undefined : this.waiters.shift();
      if (waiter) waiter.resolve(this.createSlot());
      return;
    }
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve(slot);
    else this.idle.push(slot);
  }
}
