/**
 * The main thread's handle on the PGlite session that lives in a worker thread (pglite-worker.ts): each call
 * is one message and one answer. Errors come back with the server's fields (code, constraint, ...), so the
 * error mapping in errors.ts sees what it would see in process. A worker that dies fails every pending and
 * later call with 57P01 (admin shutdown), which the HTTP layer answers as 503.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { packageRoot } from '../paths.js';
import type { PgliteRequest, PgliteResponse, PgliteWorkerData, SerializedError } from './pglite-protocol.js';

type Pending = { resolve: (response: PgliteResponse & { ok: true }) => void; reject: (error: Error) => void };

// Without `op` on its own: distributive over the union, so each request keeps its own fields.
type RequestBody = PgliteRequest extends infer R ? (R extends PgliteRequest ? Omit<R, 'id'> : never) : never;

/** Built: dist/pglite-worker.js, an entry point of its own. From source (tests run through tsx): the .ts file
 * beside this one, behind tsx's loader, which a worker thread does not inherit from `--import tsx` on Node 20. */
function spawnWorker(options: WorkerOptions): Worker {
  const source = new URL('./pglite-worker.ts', import.meta.url);
  if (!existsSync(fileURLToPath(source))) return new Worker(pathToFileURL(join(packageRoot, 'dist', 'pglite-worker.js')), options);
  const bootstrap = `require('tsx/cjs/api').register(); require(${JSON.stringify(fileURLToPath(source))});`;
  return new Worker(bootstrap, { ...options, eval: true });
}

function toError(serialized: SerializedError): Error {
  const error = new Error(serialized.message);
  error.name = serialized.name;
  return Object.assign(error, serialized.fields);
}

export class PgliteWorkerSession {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure: Error | undefined;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (response: PgliteResponse) => this.settle(response));
    worker.on('error', (error) => this.fail(error));
    worker.on('exit', (code) => this.fail(new Error(`the embedded database's worker exited (code ${code})`)));
    worker.unref();
  }

  /** Starts the worker and waits until PGlite is open (or failed to open). */
  static start(data: PgliteWorkerData): Promise<PgliteWorkerSession> {
    const transferList = data.loadDataDir ? [data.loadDataDir] : [];
    const worker = spawnWorker({ workerData: data, transferList });
    return new Promise((resolve, reject) => {
      const onStart = (response: PgliteResponse) => {
        if (response.id !== 0) return;
        worker.off('message', onStart);
        worker.off('error', reject);
        if (response.ok) resolve(new PgliteWorkerSession(worker));
        else {
          reject(toError(response.error));
          void worker.terminate();
        }
      };
      worker.on('message', onStart);
      worker.once('error', reject);
    });
  }

  async query<T>(sql: string, params: readonly unknown[] = []): Promise<{ rows: T[] }> {
    const response = await this.request({ op: 'query', sql, params: params as unknown[] });
    return { rows: (response.rows ?? []) as T[] };
  }

  /**
   * Several statements in one message (a transaction's opening, or a whole one-statement transaction),
   * answered by the rows of statement `answer` (default: the last). When one fails, the worker rolls back
   * before answering.
   */
  async batch<T>(statements: { sql: string; params?: readonly unknown[] }[], answer = statements.length - 1): Promise<T[]> {
    const response = await this.request({
      op: 'batch',
      statements: statements.map((statement) => ({ sql: statement.sql, params: (statement.params ?? []) as unknown[] })),
      answer,
    });
    return (response.rows ?? []) as T[];
  }

  async exec(sql: string): Promise<void> {
    await this.request({ op: 'exec', sql });
  }

  /** BEGIN … COMMIT around fn (ROLLBACK when it throws); the caller holds the session's mutex. */
  async transaction<T>(fn: (tx: PgliteWorkerSession) => Promise<T>): Promise<T> {
    await this.query('begin');
    try {
      const result = await fn(this);
      await this.query('commit');
      return result;
    } catch (error) {
      await this.query('rollback').catch(() => undefined);
      throw error;
    }
  }

  async dumpDataDir(): Promise<Blob> {
    const response = await this.request({ op: 'dump' });
    return new Blob([response.bytes ?? new ArrayBuffer(0)]);
  }

  async close(): Promise<void> {
    if (this.failure) return;
    await this.request({ op: 'close' });
    await this.worker.terminate();
  }

  private request(body: RequestBody): Promise<PgliteResponse & { ok: true }> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    // Only a thread with work outstanding keeps the process alive (CLI commands exit when they are done).
    if (this.pending.size === 0) this.worker.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...body, id });
    });
  }

  private settle(response: PgliteResponse): void {
    const waiter = this.pending.get(response.id);
    if (!waiter) return;
    this.pending.delete(response.id);
    if (this.pending.size === 0) this.worker.unref();
    if (response.ok) waiter.resolve(response);
    else waiter.reject(toError(response.error));
  }

  private fail(cause: Error): void {
    if (this.failure) return;
    this.failure = Object.assign(new Error(`the embedded database is unavailable: ${cause.message}`), { code: '57P01', cause });
    for (const waiter of this.pending.values()) waiter.reject(this.failure);
    this.pending.clear();
  }
}
