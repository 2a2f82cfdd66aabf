/** WebSocket clients for the realtime suites: a real socket, the way a game client connects. */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { WebSocket, type ClientOptions } from 'ws';
import type { TestApp } from '../support/app.js';
import type { TestPlayer } from '../support/tenancy.js';

export interface Refusal {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface Closed {
  code: number;
  reason: string;
}

/**
 * An open client socket that queues what it receives. The session's first frame, `welcome`, is kept apart
 * (in `welcome`) rather than queued, so tests read replies and events with next().
 */
export class Client {
  readonly frames: unknown[] = [];
  welcome: Record<string, unknown> | undefined;
  readonly closed: Promise<Closed>;
  isClosed = false;
  private waiters: (() => void)[] = [];

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      const frame: unknown = isBinary ? data : JSON.parse((data as Buffer).toString('utf8'));
      if (!this.welcome && !isBinary && (frame as { op?: unknown }).op === 'welcome') this.welcome = frame as Record<string, unknown>;
      else this.frames.push(frame);
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.closed = new Promise((resolve) =>
      ws.once('close', (code, reason) => {
        this.isClosed = true;
        for (const wake of this.waiters.splice(0)) wake();
        resolve({ code, reason: reason.toString() });
      }),
    );
    ws.on('error', () => undefined);
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' || Buffer.isBuffer(frame) ? frame : JSON.stringify(frame));
  }

  /** The next frame received, or a failure after `deadlineMs`. */
  async next(deadlineMs = 2_000): Promise<Record<string, unknown>> {
    const started = Date.now();
    while (this.frames.length === 0) {
      if (this.isClosed) assert.fail('the socket closed while a frame was expected');
      const left = deadlineMs - (Date.now() - started);
      if (left <= 0) assert.fail(`no frame within ${deadlineMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.frames.shift() as Record<string, unknown>;
  }

  /** Waits for the welcome frame (the session has started once it is here). */
  async welcomed(deadlineMs = 5_000): Promise<Record<string, unknown>> {
    const started = Date.now();
    while (!this.welcome) {
      if (this.isClosed) assert.fail('the socket closed before its welcome');
      if (Date.now() - started > deadlineMs) assert.fail(`no welcome within ${deadlineMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 20);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.welcome;
  }

  /**
   * Every frame queued so far and those sent before the answer to a ping sent now: what the session was sent
   * up to this moment (a barrier; its start is over by then). The queue is left empty.
   */
  async framesBeforePong(): Promise<Record<string, unknown>[]> {
    const id = `barrier-${Math.random()}`;
    this.send({ op: 'ping', id });
    const frames: Record<string, unknown>[] = [];
    for (;;) {
      const frame = await this.next(5_000);
      if (frame.op === 'pong' && frame.id === id) return frames;
      frames.push(frame);
    }
  }

  async request(frame: unknown): Promise<Record<string, unknown>> {
    this.send(frame);
    return this.next();
  }

  /** Waits for the close, failing after `deadlineMs`; returns the code and how long it took. */
  async closedWithin(deadlineMs: number): Promise<Closed & { ms: number }> {
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const result = await Promise.race([
      this.closed,
      new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), deadlineMs))),
    ]);
    clearTimeout(timer);
    if (!result) assert.fail(`the socket was not closed within ${deadlineMs} ms`);
    return { ...result, ms: Date.now() - started };
  }

  close(): Promise<Closed> {
    this.ws.close(1000);
    return this.closed;
  }
}

/** Opens a socket: a Client when upgraded, a Refusal when the server answered with plain HTTP. */
export function attempt(url: string, options: ClientOptions & { headers?: Record<string, string> } = {}): Promise<Client | Refusal> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options);
    ws.once('open', () => resolve(new Client(ws)));
    ws.once('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
      response.on('error', reject);
    });
    ws.once('error', reject);
  });
}

export async function connect(url: string, options: ClientOptions & { headers?: Record<string, string> } = {}): Promise<Client> {
  const outcome = await attempt(url, options);
  if (!(outcome instanceof Client)) assert.fail(`expected an upgrade, got ${outcome.status}: ${outcome.body}`);
  await outcome.welcomed();
  return outcome;
}

export async function refused(url: string, options: ClientOptions & { headers?: Record<string, string> } = {}): Promise<Refusal> {
  const outcome = await attempt(url, options);
  if (outcome instanceof Client) {
    await outcome.close();
    assert.fail('expected a refusal before the upgrade, got an open socket');
  }
  return outcome;
}

/** The problem type slug of a refusal body. */
export function slugOf(refusal: Refusal): string {
  const body = JSON.parse(refusal.body) as { type: string };
  return body.type.replace('https://ggscale.dev/problems/', '');
}

export const realtimeUrl = (base: string, token?: string): string =>
  `${base.replace(/^http/, 'ws')}/v1/realtime${token === undefined ? '' : `?token=${encodeURIComponent(token)}`}`;

/** Listens on a random loopback port; answers the base URL. */
export async function listen(t: TestApp): Promise<string> {
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  const address = t.app.server.address();
  assert.ok(address && typeof address === 'object');
  return `http://127.0.0.1:${address.port}`;
}

export const resumeUrl = (base: string, player: TestPlayer, token: unknown, lastSeq: number): string =>
  `${realtimeUrl(base, player.accessToken)}&resume=${encodeURIComponent(String(token))}&last_seq=${lastSeq}`;

/** Cuts the connection without a close frame (a network loss), and waits until the server has seen it. */
export async function loseNetwork(client: Client): Promise<void> {
  client.ws.terminate();
  await client.closed;
}

