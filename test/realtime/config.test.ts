/** Realtime settings: defaults, and errors that name the variable. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/app/config.js';
import { loadRealtimeConfig } from '../../src/modules/realtime/config.js';

describe('realtime config', () => {
  it('has the documented defaults, reachable from the app config', () => {
    const config = loadRealtimeConfig({});
    assert.deepEqual(config, {
      maxMessageBytes: 65_536,
      messagesPerSecond: 50,
      messageBurst: 100,
      refusalsBeforeClose: 100,
      heartbeatMs: 15_000,
      leaseTtlMs: 20_000,
      closeGraceMs: 2_000,
      resumeWindowMs: 30_000,
      resumeBufferEvents: 1_000,
      resumeBufferBytes: 1_048_576,
      reconnectSpreadMs: 2_000,
    });
    assert.deepEqual(loadConfig({}).realtime, config);
  });

  it('reads every variable, the burst defaulting to twice the rate', () => {
    const config = loadRealtimeConfig({
      WS_MAX_MESSAGE_BYTES: '1024',
      WS_MESSAGES_PER_SECOND: '7',
      WS_MESSAGE_REFUSALS_BEFORE_CLOSE: '3',
      WS_HEARTBEAT_MS: '500',
      WS_LEASE_TTL_MS: '3000',
      WS_CLOSE_GRACE_MS: '0',
      WS_RESUME_WINDOW_SECONDS: '0',
      WS_RESUME_BUFFER_EVENTS: '5',
      WS_RESUME_BUFFER_BYTES: '700',
      WS_RECONNECT_SPREAD_MS: '10',
    });
    assert.equal(config.resumeWindowMs, 0);
    assert.equal(config.resumeBufferEvents, 5);
    assert.equal(config.resumeBufferBytes, 700);
    assert.equal(config.reconnectSpreadMs, 10);
    assert.equal(config.maxMessageBytes, 1024);
    assert.equal(config.messagesPerSecond, 7);
    assert.equal(config.messageBurst, 14);
    assert.equal(config.refusalsBeforeClose, 3);
    assert.equal(config.heartbeatMs, 500);
    assert.equal(config.leaseTtlMs, 3000);
    assert.equal(config.closeGraceMs, 0);
    assert.equal(loadRealtimeConfig({ WS_MESSAGE_BURST: '1' }).messageBurst, 1);
  });

  it('refuses bad values, naming the variable', () => {
    const cases: [string, string][] = [
      ['WS_MAX_MESSAGE_BYTES', '12'],
      ['WS_MESSAGES_PER_SECOND', '0'],
      ['WS_MESSAGE_BURST', 'lots'],
      ['WS_RESUME_WINDOW_SECONDS', '-1'],
      ['WS_RECONNECT_SPREAD_MS', 'soon'],
      ['WS_HEARTBEAT_MS', '-1'],
      // Over 30 s a dead node could hold its slots longer than the caps allow (they come back within 30 s).
      ['WS_LEASE_TTL_MS', '30001'],
      ['WS_LEASE_TTL_MS', '999'],
    ];
    for (const [name, value] of cases) assert.throws(() => loadRealtimeConfig({ [name]: value }), new RegExp(`${name}: `), name);
  });
});
