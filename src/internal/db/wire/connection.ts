/**
 * One PostgreSQL connection speaking the extended query protocol, for ggscale's request path.
 *
 * Why our own: the Node drivers (postgres.js, pg) end each statement with its own Sync, so a tenant
 * read (scope + statement in one transaction) costs BEGIN, scope, statement and COMMIT, four server
 * round-trip cycles even when pipelined. The protocol allows better: the statements between two Syncs run
 * as one implicit transaction, so `pipeline()` sends scope + statement + one Sync, and the server answers
 * once. Measured here at 32 callers on 10 connections: about 24k tenant reads/s at 25 µs of Node CPU each,
 * against 9k/s at 110 µs through postgres.js.
 *
 * Statements are prepared once per connection (statements.ts). Every value travels in text format (see
 * values.ts). The transaction status of each ReadyForQuery is kept (the pool reuses only an idle connection),
 * and a unit that is abandoned (its caller's signal aborted, or no answer within unitTimeoutMs) is cancelled
 * server-side and its connection closed, which also makes the server roll its transaction back.
 */
import type net from 'node:net';
import { deadlineExceeded } from '../../deadline.js';
import type { Row, SqlParam } from '../database.js';
import { StartupExchange } from './auth.js';
import type { ConnectionTarget } from './connection-options.js';
import { FrameWriter, MAX_PARAMETERS } from './frames.js';
import { copyUnsupportedError, PostgresServerError, socketClosedError, tooManyParametersError, unitTimedOutError } from './server-error.js';
import { MessageReader } from './reader.js';
import { readColumns, readRow, StatementCache, type Preparation, type Statement } from './statements.js';
import { openTransport, sendCancelRequest, type BackendKey } from './transport.js';
import { encodeParam } from './values.js';

/** ReadyForQuery's status: idle, in a transaction block, in a failed transaction block. */
export type TransactionStatus = 'I' | 'T' | 'E';
export type StatementList = readonly (readonly [string, readonly SqlParam[]])[];

/**
 * SQLSTATEs that mean the cached statement no longer matches the server: 0A000 "cached plan must not change
 * result type" (a column added or altered since it was prepared, as in a rolling deploy) and 26000 "prepared
 * statement does not exist" (DEALLOCATE, DISCARD ALL).
 */
const STALE_STATEMENT_CODES = new Set(['0A000', '26000']);
const DEFAULT_CANCEL_TIMEOUT_MS = 2_000;

interface Step {
  statement: Statement;
  rows: Row[];
}

/** Messages up to and including one Sync, and the caller waiting for their results. */
interface Unit extends Preparation {
  statements: StatementList;
  steps: Step[];
  /** The step whose results arrive now. */
  current: number;
  error: Error | undefined;
  /** The step the error belongs to. */
  failedStep: number;
  retried: boolean;
  /** performance.now() by which the server must have said more (unitTimeoutMs), else Infinity. */
  deadline: number;
  resolve: (results: Row[][]) => void;
  reject: (error: Error) => void;
  /** Stops listening to the caller's signal. */
  detach: (() => void) | undefined;
}

export interface ConnectOptions {
  connectTimeoutMs: number;
  /** Called once, when the connection is closed for whatever reason (error, server shutdown, end()). */
  onClose: () => void;
  /**
   * Backstop for callers without a deadline of their own: when the server stays silent this many ms while a
   * unit waits for it, the unit is cancelled, the connection closed, and the unit fails with code ETIMEDOUT (a
   * lost connection, 503). The clock starts when the unit is sent and restarts whenever the server sends
   * something, so a unit queued behind slow ones on the same connection is not blamed for their time. Set it
   * above statement_timeout, which should normally fire first. Unset or 0: no backstop.
   */
  unitTimeoutMs?: number;
  /** Bound on the CancelRequest's own connection (default 2 s). */
  cancelTimeoutMs?: number;
}

type Phase = 'connecting' | 'ready' | 'closed';

export class PgConnection {
  private socket: net.Socket | undefined;
  private phase: Phase = 'connecting';
  private readonly writer = new FrameWriter();
  private readonly statements = new StatementCache(this.writer);
  private flushScheduled = false;
  /** socket.write() said the socket is full: frames wait in the writer, in order, until 'drain'. */
  private blocked = false;
  private readonly units: Unit[] = [];
  private status: TransactionStatus = 'I';
  private backendKey: BackendKey | undefined;
  private unitTimer: NodeJS.Timeout | undefined;

  private readonly reader = new MessageReader();
  private readonly handleMessage = this.handle.bind(this);

  private startup: { exchange: StartupExchange; resolve: () => void; reject: (error: Error) => void } | undefined;
  private closedBy: Error | undefined;
  private drained: (() => void) | undefined;

  constructor(
    private readonly target: ConnectionTarget,
    private readonly options: ConnectOptions,
  ) {
    // A failed connect closes the connection, which rejects every unit queued meanwhile (see close()).
    this.connect().catch(() => undefined);
  }

  /** The status of the last ReadyForQuery ('I' before the first statement). */
  get transactionStatus(): TransactionStatus {
    return this.status;
  }

  /** Units sent (or queued to be) and not yet answered. */
  get inFlight(): number {
    return this.units.length;
  }

  get closed(): boolean {
    return this.phase === 'closed';
  }

  /** Bytes held back: written while the socket was full (or not yet open), not yet handed to it. */
  get pendingWriteBytes(): number {
    return this.writer.size;
  }

  /** One statement, in the transaction the connection is in (or its own implicit one). */
  async query(text: string, params: readonly SqlParam[] = [], signal?: AbortSignal): Promise<Row[]> {
    const [rows] = await this.pipeline([[text, params]], signal);
    return rows!;
  }

  /**
   * Several statements and one Sync: outside BEGIN, they are one implicit transaction (all or nothing), and the
   * server answers them together. A failing statement fails the whole pipeline. If `signal` aborts before the
   * answer, the unit fails at once with DEADLINE_EXCEEDED, and the statement is cancelled and the connection
   * closed (the server may be frozen: nothing waits for it).
   */
  pipeline(statements: StatementList, signal?: AbortSignal): Promise<Row[][]> {
    if (signal?.aborted) return Promise.reject(deadlineExceeded());
    if (this.phase === 'closed') return Promise.reject(this.closedBy ?? socketClosedError());
    for (const [, params] of statements) {
      if (params.length > MAX_PARAMETERS) return Promise.reject(tooManyParametersError(params.length, MAX_PARAMETERS));
    }
    const timeout = this.options.unitTimeoutMs;
    const deadline = timeout ? performance.now() + timeout : Infinity;
    return new Promise((resolve, reject) => {
      const unit: Unit = { statements, steps: [], current: 0, prepared: [], evicted: [], error: undefined, failedStep: -1, retried: false, deadline, resolve, reject, detach: undefined };
      if (!this.send(unit)) return;
      if (signal) {
        const onAbort = () => this.abandon(deadlineExceeded());
        signal.addEventListener('abort', onAbort, { once: true });
        unit.detach = () => signal.removeEventListener('abort', onAbort);
      }
    });
  }

  /**
   * Asks the server to cancel what this connection runs (a CancelRequest on a connection of its own, with the
   * same TLS rules). Best effort: resolves once sent, or after cancelTimeoutMs; the statement fails with 57014.
   */
  cancel(): Promise<void> {
    if (!this.backendKey) return Promise.resolve();
    return sendCancelRequest(this.target, this.backendKey, this.options.cancelTimeoutMs ?? DEFAULT_CANCEL_TIMEOUT_MS);
  }

  /** Closes after the statements already sent have answered (or after timeoutMs, whichever is first). */
  async end(timeoutMs: number): Promise<void> {
    if (this.phase === 'closed') return;
    if (this.units.length > 0) {
      await new Promise<void>((resolve) => {
        this.drained = resolve;
        setTimeout(resolve, timeoutMs).unref();
      });
    }
    if (this.phase === 'ready' && this.socket) {
      this.socket.end(this.writer.terminate().take());
    }
    this.close(socketClosedError());
  }

  /** Closes now: statements in flight fail as a lost connection. */
  destroy(): void {
    this.close(socketClosedError());
  }

  /** Writes the unit's messages; a unit that cannot be written whole is not sent at all, and is rejected. */
  private send(unit: Unit): boolean {
    const mark = this.writer.mark();
    try {
      for (const [text, params] of unit.statements) {
        const statement = this.statements.prepare(text, params, unit);
        this.writer.bind(statement.name, params.map(encodeParam)).execute();
        unit.steps.push({ statement, rows: [] });
      }
      this.writer.sync();
    } catch (error) {
      // Half a unit must never leave: the server would read it as the start of the next one.
      this.writer.truncate(mark);
      this.statements.unitNotSent(unit);
      this.settle(unit, error as Error);
      return false;
    }
    this.units.push(unit);
    this.scheduleFlush();
    if (unit.deadline !== Infinity) this.armUnitTimer();
    return true;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.phase !== 'ready') return;
    this.flushScheduled = true;
    // Units sent in the same tick (a transaction's BEGIN + scope + first statement) leave in one write.
    queueMicrotask(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  /** Hands the written frames to the socket, unless it is full: then they wait, in order, for 'drain'. */
  private flush(): void {
    if (this.phase !== 'ready' || this.blocked || !this.writer.pending) return;
    const socket = this.socket!;
    if (!socket.write(this.writer.take())) {
      this.blocked = true;
      socket.once('drain', () => {
        this.blocked = false;
        this.flush();
      });
    }
  }

  private async connect(): Promise<void> {
    // One deadline for the whole start-up: a server that accepts the connection and then never answers
    // (overloaded, or not PostgreSQL) must not hold the caller forever either.
    const deadline = setTimeout(() => {
      this.close(Object.assign(new Error(`connecting to PostgreSQL timed out after ${this.options.connectTimeoutMs} ms`), { code: 'CONNECT_TIMEOUT' }));
    }, this.options.connectTimeoutMs);
    try {
      const socket = await openTransport(this.target, (opened) => {
        if (this.phase === 'closed') opened.destroy();
        else this.socket = opened;
      });
      if (this.phase === 'closed') throw this.closedBy ?? socketClosedError();
      this.socket = socket;
      socket.on('data', (chunk: Buffer) => this.receive(chunk));
      socket.on('error', (error) => this.close(socketClosedError(error)));
      socket.on('close', () => this.close(this.closedBy ?? socketClosedError()));
      await new Promise<void>((resolve, reject) => {
        const exchange = new StartupExchange(this.target, (writer) => socket.write(writer.take()));
        this.startup = { exchange, resolve, reject };
        exchange.begin();
      });
      this.phase = 'ready';
      this.scheduleFlush();
    } catch (error) {
      this.close(error as Error);
      throw error;
    } finally {
      clearTimeout(deadline);
    }
  }

  private receive(chunk: Buffer): void {
    try {
      this.reader.push(chunk, this.handleMessage, () => this.phase === 'closed');
    } catch (error) {
      this.close(error as Error);
      return;
    }
    // The server is alive and working through the units in order: the oldest one waiting gets a fresh clock.
    const timeout = this.options.unitTimeoutMs;
    const head = this.units[0];
    if (timeout && head) head.deadline = performance.now() + timeout;
  }

  private handle(type: number, data: Buffer, start: number, end: number): void {
    if (this.startup) return this.handleStartup(type, data.subarray(start, end));
    const unit = this.units[0];
    switch (type) {
      case 0x44: {
        // 'D' DataRow
        const step = unit?.steps[unit.current];
        if (step) step.rows.push(readRow(step.statement.columns!, data, start));
        return;
      }
      case 0x43: // 'C' CommandComplete
      case 0x49: // 'I' EmptyQueryResponse
      case 0x73: // 's' PortalSuspended
        if (unit) unit.current++;
        return;
      case 0x54: // 'T' RowDescription (of a statement being prepared)
        this.statements.described(readColumns(data, start));
        return;
      case 0x6e: // 'n' NoData
        this.statements.described([]);
        return;
      case 0x5a: {
        // 'Z' ReadyForQuery: the unit is complete, and the session is idle or in a (failed) transaction.
        const before = this.status;
        this.status = String.fromCharCode(data[start]!) as TransactionStatus;
        if (unit) this.complete(unit, before);
        return;
      }
      case 0x45: {
        // 'E' ErrorResponse: the server skips the rest of the unit, up to its Sync.
        const error = PostgresServerError.decode(data.subarray(start, end));
        if (error.fatal) return this.close(error);
        if (unit && !unit.error) {
          unit.error = error;
          unit.failedStep = unit.current;
        }
        return;
      }
      case 0x47: // 'G' CopyInResponse: the server would wait for our CopyData for ever
      case 0x48: // 'H' CopyOutResponse
      case 0x57: // 'W' CopyBothResponse
        return this.close(copyUnsupportedError(), true);
      default:
        // ParseComplete, BindComplete, CloseComplete, ParameterDescription, notices, ParameterStatus,
        // notifications: nothing to do.
        return;
    }
  }

  private handleStartup(type: number, body: Buffer): void {
    const startup = this.startup!;
    try {
      if (!startup.exchange.handle(type, body)) return;
      this.startup = undefined;
      this.backendKey = startup.exchange.backendKey;
      this.status = String.fromCharCode(body[0]!) as TransactionStatus;
      startup.resolve();
    } catch (error) {
      // Closed at once: nothing the server sends after a failed login may be read as an answer.
      this.close(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private complete(unit: Unit, statusBefore: TransactionStatus): void {
    this.units.shift();
    const { error } = unit;
    if (!error) {
      this.settle(unit, undefined, unit.steps.map((step) => step.rows));
    } else {
      this.statements.unitFailed(unit);
      const code = (error as { code?: string }).code ?? '';
      const stale = STALE_STATEMENT_CODES.has(code) ? unit.steps[unit.failedStep]?.statement : undefined;
      if (stale) this.statements.discard(stale);
      // Run again, prepared afresh, only where the caller cannot tell: the unit was a transaction of its own
      // (idle before and after it, so the server rolled all of it back) and nothing was sent behind it.
      if (stale && !unit.retried && statusBefore === 'I' && this.status === 'I' && this.units.length === 0) {
        this.retry(unit);
      } else {
        this.settle(unit, error);
      }
    }
    if (this.units.length === 0) this.drained?.();
  }

  private retry(unit: Unit): void {
    unit.retried = true;
    unit.steps = [];
    unit.current = 0;
    unit.prepared = [];
    unit.evicted = [];
    unit.error = undefined;
    unit.failedStep = -1;
    this.send(unit);
  }

  private settle(unit: Unit, error: Error | undefined, results?: Row[][]): void {
    unit.detach?.();
    if (error) unit.reject(error);
    else unit.resolve(results!);
  }

  /** The unit timeout: one timer per connection, for the oldest unit (the server answers units in order). */
  private armUnitTimer(): void {
    const head = this.units[0];
    if (this.unitTimer || !head || head.deadline === Infinity) return;
    this.unitTimer = setTimeout(() => {
      this.unitTimer = undefined;
      const oldest = this.units[0];
      if (oldest && oldest.deadline <= performance.now()) this.abandon(unitTimedOutError(this.options.unitTimeoutMs!));
      else this.armUnitTimer();
    }, Math.max(0, head.deadline - performance.now()));
    this.unitTimer.unref();
  }

  /** Gives up on what runs: cancels it server-side (best effort, not awaited) and closes the connection now. */
  private abandon(error: Error): void {
    if (this.phase === 'closed') return;
    void this.cancel();
    this.close(error, true);
  }

  /** `overrides`: every unit fails with `error`, even one that already has a server error of its own. */
  private close(error: Error, overrides = false): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    this.closedBy = error;
    clearTimeout(this.unitTimer);
    this.socket?.destroy();
    const startup = this.startup;
    this.startup = undefined;
    startup?.reject(error);
    for (const unit of this.units.splice(0)) this.settle(unit, overrides ? error : (unit.error ?? error));
    this.drained?.();
    this.options.onClose();
  }
}
