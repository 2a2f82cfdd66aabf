/**
 * An address ggscale cannot listen on stops the start the way a bad configuration value does: one line on
 * stderr naming the address and the variables that set it, and a non-zero exit. Regression: a port already
 * in use printed a Node stack trace.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../support/process.js';

function assertOneLine(result: { code: number | null; stderr: string }, address: RegExp, why: RegExp): void {
  assert.notEqual(result.code, 0, 'a non-zero exit');
  assert.notEqual(result.code, null, 'an exit, not a signal');
  const lines = result.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got:\n${result.stderr}`);
  assert.match(lines[0]!, /^ggscale: /);
  assert.match(lines[0]!, address);
  assert.match(lines[0]!, why);
  assert.match(lines[0]!, /\bPORT\b/);
  assert.match(lines[0]!, /\bHOST\b/);
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
}

describe('ggscale serve on an address it cannot listen on', () => {
  let dataDir: string;
  let blocker: Server;
  let busyPort: number;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'ggscale-busy-port-'));
    blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    busyPort = (blocker.address() as { port: number }).port;
  });
  after(async () => {
    await new Promise<void>((resolve) => blocker.close(() => resolve()));
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('stops with one line naming the address and PORT/HOST when the port is in use', async () => {
    const result = await run(['serve'], { GGSCALE_DATA_DIR: dataDir, PORT: String(busyPort), HOST: '127.0.0.1' });
    assertOneLine(result, new RegExp(`127\\.0\\.0\\.1:${busyPort}\\b`), /in use/);
  });

  it('stops the same way when HOST is not an address of this machine', async () => {
    // 192.0.2.0/24 is TEST-NET-1 (RFC 5737): never assigned to a real interface.
    const result = await run(['serve'], { GGSCALE_DATA_DIR: dataDir, PORT: String(busyPort), HOST: '192.0.2.1' });
    assertOneLine(result, new RegExp(`192\\.0\\.2\\.1:${busyPort}\\b`), /not an address of this machine/);
  });

  it('leaves the data folder free for the next start', async () => {
    // The lock of the failed start is gone: a start that fails for its own reason (the busy port again)
    // does not report the data folder as in use.
    const result = await run(['serve'], { GGSCALE_DATA_DIR: dataDir, PORT: String(busyPort), HOST: '127.0.0.1' });
    assert.doesNotMatch(result.stderr, /is using the data folder/);
    assertOneLine(result, new RegExp(`127\\.0\\.0\\.1:${busyPort}\\b`), /in use/);
  });
});
