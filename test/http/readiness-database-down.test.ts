/**
 * readyz follows the database after start-up too. Regression: once `serve` had opened the database its
 * state read 'ok', and a failed ping was reported as that state, so readyz answered 200 with
 * {"database":"ok"} while PostgreSQL was down. Runs `serve` in-process on a PostgreSQL of its own.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/app/config.js';
import { createLogger } from '../../src/internal/telemetry/logger.js';
import { serve, type RunningServer } from '../../src/start/serve.js';
import { OwnPostgres } from '../support/services.js';
import { eventually } from '../support/eventually.js';
import { OPERATOR_TOKEN } from '../support/tenancy.js';

describe('readyz while the database is down after start-up (own PostgreSQL)', () => {
  let pg: OwnPostgres;
  let server: RunningServer | undefined;

  before(async () => {
    pg = await OwnPostgres.create();
    const config = loadConfig({ DATABASE_URL: pg.url, GGSCALE_ADMIN_TOKEN: OPERATOR_TOKEN, PORT: '0', HOST: '127.0.0.1', FLEET_LOCAL_BUFFER: '0' });
    server = await serve(config, createLogger({ level: 'silent' }));
    await server.databaseReady;
  });

  after(async () => {
    await server?.shutdown('test over');
    await pg?.destroy();
  });

  const readyz = async () => {
    const res = await fetch(`${server!.url}/v1/readyz`, { signal: AbortSignal.timeout(10_000) });
    return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as Record<string, unknown> };
  };

  it('answers 503 with Retry-After while PostgreSQL is stopped, and 200 again once it is back', async () => {
    assert.equal((await readyz()).status, 200);
    await pg.stop('fast');
    const down = await readyz();
    assert.equal(down.status, 503, JSON.stringify(down.body));
    assert.equal(down.retryAfter, '1');
    assert.match(String(down.body.detail), /database unavailable/);
    await pg.start();
    await eventually(async () => (await readyz()).status === 200, 5_000, 'readyz after the restart');
  });
});
