/** Messages between PgliteDatabase (main thread) and the worker thread that owns PGlite. */

export interface PgliteWorkerData {
  dataDir?: string;
  /** A dump (from dumpDataDir) to start from, as bytes: structured clone carries an ArrayBuffer cheaply. */
  loadDataDir?: ArrayBuffer;
  statementTimeoutMs: number;
}

export type PgliteRequest =
  | { id: number; op: 'query'; sql: string; params: unknown[] }
  | { id: number; op: 'exec'; sql: string }
  /** Statements run in order, answered by the rows of statement `answer`; on a failure, ROLLBACK and the error. */
  | { id: number; op: 'batch'; statements: { sql: string; params: unknown[] }[]; answer: number }
  | { id: number; op: 'dump' }
  | { id: number; op: 'close' };

/** An error as data: its message and the server's fields (code, detail, constraint, ...). */
export interface SerializedError {
  name: string;
  message: string;
  fields: Record<string, string | number>;
}

/** id 0 is the start-up answer. */
export type PgliteResponse =
  | { id: number; ok: true; rows?: unknown[]; bytes?: ArrayBuffer }
  | { id: number; ok: false; error: SerializedError };
