import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../src/app/config.js';

describe('configuration', () => {
  it('has the documented defaults', () => {
    const config = loadConfig({});
    assert.equal(config.port, 8080);
    assert.equal(config.host, '0.0.0.0');
    assert.equal(config.databaseUrl, undefined);
    assert.equal(config.cacheBackend, 'memory');
    assert.equal(config.migrateOnStart, true);
    assert.match(config.dataDir, /\/data$/);
    assert.equal(config.trustProxy, false);
    assert.deepEqual(config.corsOrigins, []);
  });

  it('reads every documented variable', () => {
    const config = loadConfig({
      PORT: '9000',
      HOST: '127.0.0.1',
      DATABASE_URL: 'postgres://u@h/db',
      CACHE_BACKEND: 'redis',
      REDIS_URL: 'redis://r:6379',
      GGSCALE_ADMIN_TOKEN: 'x'.repeat(32),
      GGSCALE_MIGRATE_ON_START: 'false',
      CORS_ORIGINS: 'https://a.example, https://b.example',
      TRUST_PROXY: '10.0.0.0/8,127.0.0.1',
      GGSCALE_PUBLIC_URL: 'https://api.example/',
    });
    assert.equal(config.port, 9000);
    assert.equal(config.databaseMigrationUrl, 'postgres://u@h/db');
    assert.equal(config.cacheBackend, 'redis');
    assert.equal(config.migrateOnStart, false);
    assert.deepEqual(config.corsOrigins, ['https://a.example', 'https://b.example']);
    assert.deepEqual(config.trustProxy, ['10.0.0.0/8', '127.0.0.1']);
    assert.equal(config.publicUrl, 'https://api.example');
  });

  const bad: [string, string, RegExp][] = [
    ['PORT', 'eighty', /PORT: must be a whole number/],
    ['PORT', '70000', /PORT: must be between/],
    ['CACHE_BACKEND', 'olric', /CACHE_BACKEND: must be one of memory, redis/],
    ['GGSCALE_ADMIN_TOKEN', 'short', /GGSCALE_ADMIN_TOKEN: must be at least 32/],
    ['DATABASE_URL', 'mysql://x', /DATABASE_URL: must use postgres:/],
    ['GGSCALE_MIGRATE_ON_START', 'maybe', /GGSCALE_MIGRATE_ON_START: must be true or false/],
    ['CORS_ORIGINS', 'not an origin', /CORS_ORIGINS/],
    ['TRUST_PROXY', 'everyone', /TRUST_PROXY/],
    ['LOG_LEVEL', 'loud', /LOG_LEVEL/],
  ];
  for (const [name, value, message] of bad) {
    it(`names ${name} when it is "${value}"`, () => {
      assert.throws(() => loadConfig({ [name]: value }), (error: unknown) => error instanceof ConfigError && error.variable === name && message.test(error.message));
    });
  }
});
