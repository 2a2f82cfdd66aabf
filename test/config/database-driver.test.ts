/** DATABASE_DRIVER: which PostgreSQL client ggscale uses, validated at start like every other setting. */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/app/config.js';
import { openDatabase } from '../../src/internal/db/open.js';
import { PostgresDatabase } from '../../src/internal/db/postgres.js';
import { PostgresJsDatabase } from '../../src/internal/db/postgres-js.js';
import { run } from '../support/process.js';

describe('DATABASE_DRIVER', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ggscale-driver-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('is wire (our own client) unless set, and accepts postgres.js', () => {
    assert.equal(loadConfig({}).databaseDriver, 'wire');
    assert.equal(loadConfig({ DATABASE_DRIVER: 'wire' }).databaseDriver, 'wire');
    assert.equal(loadConfig({ DATABASE_DRIVER: ' postgres.js ' }).databaseDriver, 'postgres.js');
  });

  it('refuses any other value, naming the variable', () => {
    for (const value of ['pg', 'postgres', 'WIRE', 'postgresjs']) {
      assert.throws(() => loadConfig({ DATABASE_DRIVER: value }), (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.variable, 'DATABASE_DRIVER');
        assert.match(error.message, /^DATABASE_DRIVER: must be one of wire, postgres\.js, got "/);
        return true;
      });
    }
  });

  it('stops the server at start with one line naming it', async () => {
    const result = await run(['serve'], { GGSCALE_DATA_DIR: dataDir, DATABASE_DRIVER: 'pg' });
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.equal(result.stderr.trim().split('\n').length, 1);
    assert.match(result.stderr, /DATABASE_DRIVER: must be one of wire, postgres\.js/);
  });

  it('chooses the client openDatabase opens', { skip: process.env.DATABASE_URL ? false : 'needs DATABASE_URL' }, async () => {
    for (const [driver, expected] of [
      ['wire', PostgresDatabase],
      ['postgres.js', PostgresJsDatabase],
    ] as const) {
      const db = await openDatabase(loadConfig({ DATABASE_URL: process.env.DATABASE_URL, DATABASE_DRIVER: driver }));
      try {
        assert.ok(db instanceof expected, driver);
        await db.ping();
      } finally {
        await db.close();
      }
    }
  });
});
