/**
 * The worker thread that owns the embedded database. PGlite's start (compiling Postgres' WebAssembly and
 * running its single-user start-up) is ~0.35 s of CPU: here it runs on the second core while the main
 * thread loads the HTTP stack and listens, instead of after it; and a slow embedded statement never holds
 * the event loop that serves healthz and WebSockets. One message in, one answer out, in order: PGlite is one
 * session, and the main thread's mutex already decides who uses it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import type { PgliteRequest, PgliteResponse, PgliteWorkerData, SerializedError } from './pglite-protocol.js';

const INT8_OID = 20;

function serializeError(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error), fields: {} };
  const fields: Record<string, string | number> = {};
  // DatabaseError carries the server's fields (code, detail, constraint, ...) as own properties.
  for (const [key, value] of Object.entries(error)) {
    if (typeof value === 'string' || typeof value === 'number') fields[key] = value;
  }
  return { name: error.name, message: error.message, fields };
}

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('pglite-worker must run as a worker thread');
  const options = workerData as PgliteWorkerData;
  let pg: PGlite;
  try {
    pg = new PGlite({
      ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
      ...(options.loadDataDir === undefined ? {} : { loadDataDir: new Blob([options.loadDataDir]) }),
      // int8 ids stay strings, as with postgres.js.
      parsers: { [INT8_OID]: (value: string) => value },
    });
    await pg.waitReady;
    await pg.query(`select set_config('statement_timeout', $1, false)`, [String(options.statementTimeoutMs)]);
  } catch (error) {
    port.postMessage({ id: 0, ok: false, error: serializeError(error) } satisfies PgliteResponse);
    return;
  }
  port.postMessage({ id: 0, ok: true } satisfies PgliteResponse);

  // Requests are answered strictly one after another.
  let queue = Promise.resolve();
  port.on('message', (request: PgliteRequest) => {
    queue = queue.then(async () => {
      let response: PgliteResponse;
      const transfer: ArrayBuffer[] = [];
      try {
        switch (request.op) {
          case 'query':
            response = { id: request.id, ok: true, rows: (await pg.query(request.sql, request.params)).rows };
            break;
          case 'batch': {
            let rows: unknown[] = [];
            try {
              for (const [index, statement] of request.statements.entries()) {
                const result = await pg.query(statement.sql, statement.params);
                if (index === request.answer) rows = result.rows;
              }
            } catch (error) {
              await pg.query('rollback').catch(() => undefined);
              throw error;
            }
            response = { id: request.id, ok: true, rows };
            break;
          }
          case 'exec':
            await pg.exec(request.sql);
            response = { id: request.id, ok: true };
            break;
          case 'dump': {
            const bytes = await (await pg.dumpDataDir('none')).arrayBuffer();
            transfer.push(bytes);
            response = { id: request.id, ok: true, bytes };
            break;
          }
          case 'close':
            await pg.close();
            response = { id: request.id, ok: true };
            break;
        }
      } catch (error) {
        response = { id: request.id, ok: false, error: serializeError(error) };
      }
      port.postMessage(response, transfer);
      if (request.op === 'close') port.close();
    });
  });
}

// No top-level await: from source, tests load this file through a CommonJS require (see pglite-session.ts).
void main();
