/**
 * The periodic background job: passes on its period, one at a time; a pass refused as unavailable before
 * any pass has succeeded (the database still starting) is logged at debug, every other failure as a warning.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { unavailable } from '../../src/internal/errors/app-error.js';
import { PeriodicJob } from '../../src/internal/jobs/periodic-job.js';
import { createLogger } from '../../src/internal/telemetry/logger.js';
import { LogCapture } from '../support/app.js';
import { eventually } from '../support/eventually.js';

class ScriptedJob extends PeriodicJob {
  passes = 0;
  constructor(
    private readonly script: (n: number) => Promise<void>,
    logs: LogCapture,
  ) {
    super('test.job', 10, createLogger({ level: 'debug', destination: logs }));
  }
  async pass(): Promise<void> {
    await this.script(++this.passes);
  }
}

const failures = (logs: LogCapture) =>
  logs.records().filter((r) => r.msg === 'background job failed; retrying next interval').map((r) => (r.level === 30 ? 'info' : r.level === 20 ? 'debug' : r.level === 40 ? 'warn' : String(r.level)));

describe('periodic job', () => {
  it('is quiet about unavailable while starting, and warns about any failure once it has run', async () => {
    const logs = new LogCapture();
    const job = new ScriptedJob(async (n) => {
      if (n <= 2) throw unavailable('The database is starting.');
      if (n === 3) return;
      if (n === 4) throw unavailable('The database is unreachable.');
      if (n === 5) throw new Error('a bug');
    }, logs);
    job.start();
    await eventually(() => job.passes >= 6, 5_000, 'six passes');
    await job.stop();
    assert.deepEqual(failures(logs), ['debug', 'debug', 'warn', 'warn']);
  });
});
