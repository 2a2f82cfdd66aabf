/**
 * Our own pool of PostgreSQL connections (wire/connection.ts), each held by one transaction at a time (its
 * statements still pipeline on that connection). A connection that closes, or fails for a connection-level
 * reason, is never written to again: it is destroyed at once (which also fails statements still queued on it,
 * rather than letting them run on a fresh session outside their transaction) and its slot gets a fresh
 * connection when next needed. (postgres.js's reserve() got this wrong, porsager/postgres#1208 and #1154:
 * restarting PostgreSQL under load killed or wedged the process; test/db/lost-connection.test.ts.)
 */
import type { Queryable, Row, SqlParam } from './database.js';
import { connectionLost, isConnectionLost } from './errors.js';
import { PgConnection } from './wire/connection.js';

/** One connection, told when it closes; closed by the pool after idleTimeoutMs unused. */
class Slot {
  lost = false;
  idleSince = 0;
  readonly connection: PgConnection;

  constructor(create: (onClose: () => void) => PgConnection) {
    this.connection = create(() => this.lose());
  }

  lose(): void {
    if (this.lost) return;
    this.lost = true;
    this.connection.destroy();
  }
}

/** One transaction's hold on a connection. */
export class Lease implements Queryable {
  private released = false;

  constructor(
    private readonly slot: Slot,
    private readonly onRelease: (slot: Slot) => void,
  ) {}

  /** Statements and one Sync, sent at once: a caller may queue several without awaiting, and they pipeline. */
  pipeline(statements: readonly (readonly [string, readonly SqlParam[]])[]): Promise<Row[][]> {
    if (this.slot.lost) return Promise.reject(connectionLost());
    const pending = this.slot.connection.pipeline(statements);
    // Registered before the caller's own handlers, so the slot is marked before anyone sees the failure.
    pending.catch((error: unknown) => {
      if (isConnectionLost(error)) this.slot.lose();
    });
    return pending;
  }

  async query<T extends object>(text: string, params: readonly SqlParam[] = []): Promise<T[]> {
    const [rows] = await this.pipeline([[text, params]]);
    return rows as T[];
  }

  async rollback(): Promise<void> {
    if (!this.slot.lost) await this.query('rollback').catch(() => undefined);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.onRelease(this.slot);
  }
}

export interface ConnectionPoolOptions {
  size: number;
  /** A new connection that calls onClose when it closes. */
  create: (onClose: () => void) => PgConnection;
  /** An idle connection is closed after this long (the server's memory per session is given back). */
  idleTimeoutMs: number;
}

export class ConnectionPool {
  private readonly idle: Slot[] = [];
  private readonly waiters: { resolve: (slot: Slot) => void; reject: (error: Error) => void }[] = [];
  private readonly all = new Set<Slot>();
  private closing = false;
  private readonly idleSweep: NodeJS.Timeout;

  constructor(private readonly options: ConnectionPoolOptions) {
    this.idleSweep = setInterval(() => this.closeIdle(), Math.max(options.idleTimeoutMs / 4, 100));
    this.idleSweep.unref();
  }

  async acquire(): Promise<Lease> {
    if (this.closing) throw Object.assign(new Error('the database pool is closed'), { code: 'CONNECTION_ENDED' });
    const slot =
      this.takeIdle() ??
      (this.all.size < this.options.size
        ? this.createSlot()
        : await new Promise<Slot>((resolve, reject) => this.waiters.push({ resolve, reject })));
    return new Lease(slot, (released) => this.release(released));
  }

  async close(timeoutSeconds: number): Promise<void> {
    this.closing = true;
    clearInterval(this.idleSweep);
    for (const waiter of this.waiters.splice(0)) waiter.reject(Object.assign(new Error('the database pool is closed'), { code: 'CONNECTION_ENDED' }));
    await Promise.all([...this.all].map((slot) => slot.connection.end(timeoutSeconds * 1000)));
  }

  private createSlot(): Slot {
    const slot = new Slot(this.options.create);
    this.all.add(slot);
    return slot;
  }

  /** An idle connection that is still open (one closed while idle, e.g. by the server, is replaced). */
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
      if (!slot.lost) void slot.connection.end(5_000);
      const waiter = this.closing ? undefined : this.waiters.shift();
      if (waiter) waiter.resolve(this.createSlot());
      return;
    }
    const waiter = this.waiters.shift();
    if (waiter) return waiter.resolve(slot);
    slot.idleSince = performance.now();
    this.idle.push(slot);
  }

  /** Connections idle for idleTimeoutMs are closed (the least recently used are at the bottom of the stack). */
  private closeIdle(): void {
    const cutoff = performance.now() - this.options.idleTimeoutMs;
    while (this.idle.length > 0 && this.idle[0]!.idleSince < cutoff) {
      const slot = this.idle.shift()!;
      this.all.delete(slot);
      if (!slot.lost) void slot.connection.end(1_000);
    }
  }
}
