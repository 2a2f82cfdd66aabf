import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import dgram from 'node:dgram';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { startEchoGameServer, parseGameServerArgs } from '../../src/modules/fleet/gameserver/echo-server.js';
import { AgonesSdkClient } from '../../src/modules/fleet/gameserver/sdk-client.js';
import { eventually } from '../support/eventually.js';

interface SdkCall {
  method: string;
  path: string;
  body: string;
}

/** A stand-in for the Agones SDK sidecar's REST gateway that records every call. */
async function startFakeSdk(): Promise<{ port: number; calls: SdkCall[]; close(): Promise<void> }> {
  const calls: SdkCall[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      calls.push({ method: req.method ?? '', path: req.url ?? '', body });
      res.setHeader('content-type', 'application/json');
      if (req.method === 'GET' && req.url === '/gameserver') {
        res.end(JSON.stringify({
          object_meta: { name: 'gs-test-1', namespace: 'default', labels: { islocal: 'true' } },
          status: { state: 'Ready', address: '127.0.0.1', ports: [{ name: 'default', port: 7777 }] },
        }));
        return;
      }
      res.end('{}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    calls,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function udpRequest(port: number, text: string, timeoutMs = 2000): Promise<string> {
  const sock = dgram.createSocket('udp4');
  try {
    const reply = once(sock, 'message', { signal: AbortSignal.timeout(timeoutMs) });
    sock.send(text, port, '127.0.0.1');
    const [msg] = (await reply) as [Buffer];
    return msg.toString();
  } finally {
    sock.close();
  }
}

/** A TCP client that collects everything the server writes, so tests can wait for lines. */
async function tcpClient(port: number): Promise<{ data: () => string; send(line: string): void; close(): void }> {
  const sock = net.connect(port, '127.0.0.1');
  await once(sock, 'connect');
  let buf = '';
  sock.on('data', (c: Buffer) => (buf += c.toString()));
  sock.on('error', () => {});
  return { data: () => buf, send: (line) => sock.write(line + '\n'), close: () => sock.destroy() };
}

async function freePort(): Promise<number> {
  const srv = net.createServer().listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

async function canBindBoth(port: number): Promise<boolean> {
  const tcp = net.createServer();
  const udp = dgram.createSocket('udp4');
  try {
    tcp.listen(port, '127.0.0.1');
    await once(tcp, 'listening');
    udp.bind(port, '127.0.0.1');
    await once(udp, 'listening');
    return true;
  } catch {
    return false;
  } finally {
    tcp.close();
    udp.close();
  }
}

test('echoes over UDP and TCP, marks Ready then pings Health, and answers GAMESERVER', async (t) => {
  const sdk = await startFakeSdk();
  t.after(() => sdk.close());
  const lines: string[] = [];
  const gs = await startEchoGameServer({
    port: 0, host: '127.0.0.1', sdkPort: sdk.port, healthIntervalMs: 20, logger: (l) => lines.push(l),
  });
  t.after(() => gs.close());

  assert.equal(gs.udpPort, gs.tcpPort, 'port 0 should still give UDP and TCP the same port');
  assert.equal(await udpRequest(gs.udpPort, 'hello'), 'ACK: hello\n');
  assert.equal(await udpRequest(gs.udpPort, 'GAMESERVER'), 'NAME: gs-test-1\n');

  const tcp = await tcpClient(gs.tcpPort);
  t.after(() => tcp.close());
  tcp.send('hello world');
  // The real simple-game-server appends a second newline to every TCP reply.
  await eventually(() => tcp.data().includes('\n\n'), 3000, 'TCP ack');
  assert.equal(tcp.data(), 'ACK TCP: hello world\n\n');

  await eventually(() => sdk.calls.filter((c) => c.path === '/health').length >= 2, 3000, 'two health pings');
  const paths = sdk.calls.map((c) => `${c.method} ${c.path}`);
  assert.ok(paths.indexOf('POST /ready') >= 0, 'ready was called');
  assert.ok(paths.indexOf('POST /ready') < paths.indexOf('POST /health'), 'ready came before the first health');
  assert.equal(sdk.calls.find((c) => c.path === '/ready')?.body, '{}');

  assert.ok(lines.length > 0 && lines.every((l) => typeof JSON.parse(l) === 'object'), 'logs are JSON lines');
});

test('READY, ALLOCATE, LABEL and ANNOTATION are forwarded to the SDK and acknowledged', async (t) => {
  const sdk = await startFakeSdk();
  t.after(() => sdk.close());
  const gs = await startEchoGameServer({ port: 0, host: '127.0.0.1', sdkPort: sdk.port, healthIntervalMs: 1000 });
  t.after(() => gs.close());

  assert.equal(await udpRequest(gs.udpPort, 'ALLOCATE'), 'ACK: ALLOCATE\n');
  assert.equal(await udpRequest(gs.udpPort, 'READY'), 'ACK: READY\n');
  assert.equal(await udpRequest(gs.udpPort, 'LABEL mode ranked'), 'ACK: LABEL mode ranked\n');
  assert.equal(await udpRequest(gs.udpPort, 'ANNOTATION map dust'), 'ACK: ANNOTATION map dust\n');
  assert.match(await udpRequest(gs.udpPort, 'LABEL onlyone'), /^ERROR: Invalid LABEL command/);
  assert.ok(sdk.calls.some((c) => c.path === '/allocate'));
  assert.deepEqual(JSON.parse(sdk.calls.find((c) => c.path === '/metadata/label')?.body ?? ''), { key: 'mode', value: 'ranked' });
  assert.deepEqual(JSON.parse(sdk.calls.find((c) => c.path === '/metadata/annotation')?.body ?? ''), { key: 'map', value: 'dust' });
});

test('UNHEALTHY stops the health pings', async (t) => {
  const sdk = await startFakeSdk();
  t.after(() => sdk.close());
  const gs = await startEchoGameServer({ port: 0, host: '127.0.0.1', sdkPort: sdk.port, healthIntervalMs: 10 });
  t.after(() => gs.close());
  const healthCount = () => sdk.calls.filter((c) => c.path === '/health').length;

  await eventually(() => healthCount() >= 1, 3000, 'a health ping');
  assert.equal(await udpRequest(gs.udpPort, 'UNHEALTHY'), 'ACK: UNHEALTHY\n');
  const atAck = healthCount();
  // Proving an absence needs an observation window: 20 intervals with no new ping.
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(healthCount(), atAck);
});

test('EXIT over UDP acknowledges, calls shutdown and releases both ports', async (t) => {
  const sdk = await startFakeSdk();
  t.after(() => sdk.close());
  const gs = await startEchoGameServer({ port: 0, host: '127.0.0.1', sdkPort: sdk.port, healthIntervalMs: 1000 });
  t.after(() => gs.close());

  assert.equal(await udpRequest(gs.udpPort, 'EXIT'), 'ACK: EXIT\n');
  const outcome = await gs.closed;
  assert.equal(outcome.reason, 'exit');
  assert.ok(sdk.calls.some((c) => c.method === 'POST' && c.path === '/shutdown'));
  assert.ok(await canBindBoth(gs.udpPort), 'UDP and TCP ports are free again');
  await gs.close(); // idempotent after EXIT
});

test('EXIT over TCP also shuts down (the Go original only does this for UDP)', async (t) => {
  const sdk = await startFakeSdk();
  t.after(() => sdk.close());
  const gs = await startEchoGameServer({ port: 0, host: '127.0.0.1', sdkPort: sdk.port, healthIntervalMs: 1000 });
  t.after(() => gs.close());

  const tcp = await tcpClient(gs.tcpPort);
  t.after(() => tcp.close());
  tcp.send('EXIT');
  assert.equal((await gs.closed).reason, 'exit');
  await eventually(() => tcp.data().endsWith('\n\n'), 3000, 'the EXIT ack');
  assert.equal(tcp.data(), 'ACK TCP: EXIT\n\n');
  assert.ok(sdk.calls.some((c) => c.path === '/shutdown'));
});

test('CRASH closes without calling shutdown and reports a crash code', async (t) => {
  const sdk = await startFakeSdk();
  t.after(() => sdk.close());
  const gs = await startEchoGameServer({ port: 0, host: '127.0.0.1', sdkPort: sdk.port, healthIntervalMs: 1000 });
  t.after(() => gs.close());
  const sock = dgram.createSocket('udp4');
  t.after(() => sock.close());
  sock.send('CRASH 3', gs.udpPort, '127.0.0.1');
  assert.deepEqual(await gs.closed, { reason: 'crash', code: 3 });
  assert.ok(!sdk.calls.some((c) => c.path === '/shutdown'));
});

test('keeps serving when the SDK is unreachable, logging the failures', async (t) => {
  const deadPort = await freePort();
  const lines: string[] = [];
  const gs = await startEchoGameServer({
    port: 0, host: '127.0.0.1', sdkPort: deadPort, healthIntervalMs: 20, logger: (l) => lines.push(l),
  });
  t.after(() => gs.close());

  assert.equal(await udpRequest(gs.udpPort, 'hello'), 'ACK: hello\n');
  assert.match(await udpRequest(gs.udpPort, 'GAMESERVER'), /^ERROR: .*getGameServer/);
  assert.equal(await udpRequest(gs.udpPort, 'READY'), 'ACK: READY\n');
  await eventually(
    () => lines.some((l) => (JSON.parse(l) as { level?: string }).level === 'error' && /ready/.test(l)),
    3000,
    'a logged ready failure',
  );
  // Outages are logged once per transition, not on every retry tick.
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(lines.filter((l) => /Agones SDK ready failed/.test(l)).length, 2, 'once from the loop, once from READY');
  assert.equal(await udpRequest(gs.udpPort, 'still here'), 'ACK: still here\n');
});

test('SDK client errors name the call that failed', async () => {
  const deadPort = await freePort();
  const client = new AgonesSdkClient({ port: deadPort, timeoutMs: 500 });
  await assert.rejects(client.ready(), /Agones SDK ready failed/);
  await assert.rejects(client.setLabel('a', 'b'), /Agones SDK setLabel failed/);
});

test('parseGameServerArgs reads --port, PORT and AGONES_SDK_HTTP_PORT with the documented defaults', () => {
  assert.deepEqual(parseGameServerArgs([], {}), { port: 7654, host: '0.0.0.0', sdkPort: 9358 });
  assert.deepEqual(parseGameServerArgs([], { PORT: '7000', AGONES_SDK_HTTP_PORT: '9400' }), { port: 7000, host: '0.0.0.0', sdkPort: 9400 });
  assert.deepEqual(parseGameServerArgs(['--port', '7100'], { PORT: '7000' }), { port: 7100, host: '0.0.0.0', sdkPort: 9358 });
  assert.deepEqual(parseGameServerArgs(['--port=7200'], {}), { port: 7200, host: '0.0.0.0', sdkPort: 9358 });
  assert.throws(() => parseGameServerArgs(['--port', 'abc'], {}), /port/);
});

test('parseGameServerArgs: --require-match-token takes the JWKS URL and issuer from flags or the environment, and needs both', () => {
  const env = { GGSCALE_JWKS_URL: 'http://127.0.0.1:9400/ggscale/jwks.json', GGSCALE_ISSUER: 'urn:ggscale:abc' };
  assert.deepEqual(parseGameServerArgs(['--require-match-token'], env).requireMatchToken, { jwksUrl: env.GGSCALE_JWKS_URL, issuer: env.GGSCALE_ISSUER });
  assert.deepEqual(parseGameServerArgs(['--require-match-token', '--jwks-url', 'https://ggscale.example/.well-known/jwks.json', '--issuer=https://ggscale.example'], env).requireMatchToken, {
    jwksUrl: 'https://ggscale.example/.well-known/jwks.json',
    issuer: 'https://ggscale.example',
  });
  assert.equal(parseGameServerArgs([], env).requireMatchToken, undefined, 'off unless asked for');
  assert.throws(() => parseGameServerArgs(['--require-match-token'], { GGSCALE_ISSUER: 'urn:ggscale:abc' }), /JWKS URL/);
  assert.throws(() => parseGameServerArgs(['--require-match-token'], { GGSCALE_JWKS_URL: env.GGSCALE_JWKS_URL }), /issuer/);
  assert.throws(() => parseGameServerArgs(['--require-match-token', '--jwks-url', 'file:///etc/passwd'], env), /http/);
  assert.throws(() => parseGameServerArgs(['--require-match-token', '--jwks-url', 'not a url'], env), /not a URL/);
});

test('runGameServerCli logs JSON lines and exits cleanly on SIGTERM', async (t) => {
  const sdk = await startFakeSdk();
  t.after(() => sdk.close());
  const modulePath = fileURLToPath(new URL('../../src/modules/fleet/gameserver/echo-server.ts', import.meta.url));
  const script = `import(${JSON.stringify(modulePath)}).then((m) => m.runGameServerCli(['--port', '0'], process.env))`;
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], {
    env: { ...process.env, AGONES_SDK_HTTP_PORT: String(sdk.port) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const logs = () => out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

  await eventually(() => logs().some((l) => typeof l.udpPort === 'number'), 15000, 'the listening log line');
  const port = logs().find((l) => typeof l.udpPort === 'number')?.udpPort as number;
  assert.equal(await udpRequest(port, 'hello'), 'ACK: hello\n');
  await eventually(() => sdk.calls.some((c) => c.path === '/ready'), 3000, 'ready reaches the SDK');

  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const [code] = (await exited) as [number | null];
  assert.equal(code, 0);
  assert.ok(logs().some((l) => /SIGTERM/.test(String(l.msg))), 'the signal is logged');
});
