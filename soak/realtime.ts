/**
 * The realtime part of the workload: a pool of WebSockets, each its own player, that connect (token as
 * ?token= and as Authorization, alternately), exchange a few dozen pings and one unknown op, close, and
 * reconnect. A refusal, a socket error, a close the soak did not ask for, a late or wrong reply: errors.
 */
import { randomInt } from 'node:crypto';
import { WebSocket } from 'ws';
import type { Recorder } from './recorder.js';
import { REFRESH_AFTER_MS, refresh, type Player, type SoakProject } from './players.js';
import type { HttpClient } from './http.js';

export interface RealtimeContext {
  http: HttpClient;
  recorder: Recorder;
  project: SoakProject;
  /** ws://host:port/v1/realtime */
  url: string;
}

const REPLY_TIMEOUT_MS = 10_000;
/** Well inside the per-connection message budget (WS_MESSAGES_PER_SECOND, default 50). */
const PING_INTERVAL_MS = 100;

interface Frame {
  op?: string;
  id?: string;
  code?: string;
}

/** The promise's value, or undefined when it takes longer than ms. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const expiry = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  return Promise.race([promise, expiry]).finally(() => clearTimeout(timer));
}

/** One open socket: the welcome first, then replies matched to requests by id. */
class Session {
  private readonly waiting = new Map<string, (frame: Frame) => void>();
  private closingOnPurpose = false;
  private onWelcome: ((arrived: true) => void) | undefined;
  readonly closed: Promise<number>;
  /** Settles when the session's first frame, welcome, has arrived. */
  readonly welcomed = new Promise<true>((resolve) => (this.onWelcome = resolve));

  constructor(
    private readonly ws: WebSocket,
    private readonly recorder: Recorder,
  ) {
    ws.on('message', (data: Buffer) => {
      let frame: Frame;
      try {
        frame = JSON.parse(data.toString('utf8')) as Frame;
      } catch {
        recorder.fail('ws.frame', 'not JSON', data.toString('utf8'));
        return;
      }
      if (this.onWelcome) {
        if (frame.op === 'welcome') this.onWelcome(true);
        else recorder.fail('ws.frame', 'the first frame is not welcome', JSON.stringify(frame));
        this.onWelcome = undefined;
        return;
      }
      const wake = frame.id === undefined ? undefined : this.waiting.get(frame.id);
      if (!wake) recorder.fail('ws.frame', 'unexpected frame', JSON.stringify(frame));
      else wake(frame);
    });
    ws.on('error', (error) => recorder.fail('ws.session', 'socket error', error.message));
    this.closed = new Promise((resolve) =>
      ws.once('close', (code, reason) => {
        if (!this.closingOnPurpose) recorder.fail('ws.session', `closed by the server (${code})`, reason.toString('utf8'));
        resolve(code);
      }),
    );
  }

  /** Sends a request and waits for the frame that answers its id (undefined on timeout or close). */
  async ask(kind: string, request: Frame & { id: string }): Promise<Frame | undefined> {
    if (this.ws.readyState !== WebSocket.OPEN) return undefined;
    const started = performance.now();
    const answered = new Promise<Frame>((resolve) => {
      this.waiting.set(request.id, resolve);
      this.ws.send(JSON.stringify(request));
    });
    const reply = await within(Promise.race([answered, this.closed.then(() => undefined)]), REPLY_TIMEOUT_MS);
    this.waiting.delete(request.id);
    if (!reply) {
      this.recorder.fail(kind, 'no reply', JSON.stringify(request));
      return undefined;
    }
    this.recorder.done(kind, performance.now() - started);
    return reply;
  }

  async close(): Promise<void> {
    this.closingOnPurpose = true;
    const started = performance.now();
    this.ws.close(1000, 'soak cycle');
    const code = await within(this.closed, REPLY_TIMEOUT_MS);
    if (code === undefined) {
      this.recorder.fail('ws.close', 'no close handshake');
      this.ws.terminate();
    } else this.recorder.done('ws.close', performance.now() - started);
  }
}

function connect(ctx: RealtimeContext, player: Player, viaHeader: boolean): Promise<Session | undefined> {
  const started = performance.now();
  return new Promise((resolve) => {
    const ws = viaHeader
      ? new WebSocket(ctx.url, { headers: { authorization: `Bearer ${player.access}` }, perMessageDeflate: false })
      : new WebSocket(`${ctx.url}?token=${encodeURIComponent(player.access)}`, { perMessageDeflate: false });
    const failed = (reason: string, detail = '') => {
      ctx.recorder.fail('ws.connect', reason, detail);
      ws.terminate();
      resolve(undefined);
    };
    ws.once('unexpected-response', (_request, response) => failed(`HTTP ${response.statusCode ?? 0}`));
    ws.once('error', (error) => failed('socket error', error.message));
    ws.once('open', () => {
      ws.removeAllListeners('error');
      ws.removeAllListeners('unexpected-response');
      const session = new Session(ws, ctx.recorder);
      // Connected once the session has started: its welcome is here.
      void within(Promise.race([session.welcomed, session.closed.then(() => undefined)]), REPLY_TIMEOUT_MS).then((arrived) => {
        if (arrived !== true || ws.readyState !== WebSocket.OPEN) return failed('no welcome');
        ctx.recorder.done('ws.connect', performance.now() - started);
        resolve(session);
      });
    });
  });
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One socket's life, cycle after cycle, until `stopping()`. */
export async function runSocket(ctx: RealtimeContext, player: Player, stopping: () => boolean): Promise<void> {
  for (let cycle = 0; !stopping(); cycle++) {
    if (performance.now() - player.issuedAt > REFRESH_AFTER_MS) await refresh(ctx.http, ctx.project, player);
    const session = await connect(ctx, player, cycle % 2 === 1);
    if (!session) {
      await pause(1000); // an error is recorded; do not spin on it
      continue;
    }
    const pings = 10 + randomInt(31);
    for (let i = 0; i < pings && !stopping(); i++) {
      const reply = await session.ask('ws.ping', { op: 'ping', id: `p${cycle}-${i}` });
      if (!reply) break;
      if (reply.op !== 'pong') ctx.recorder.fail('ws.ping', 'not a pong', JSON.stringify(reply));
      if (i === 0) {
        const refusal = await session.ask('ws.unknown-op', { op: 'soak-unknown', id: `u${cycle}` });
        if (refusal && (refusal.op !== 'error' || refusal.code !== 'unknown-op')) ctx.recorder.fail('ws.unknown-op', 'not an unknown-op error', JSON.stringify(refusal));
      }
      await pause(PING_INTERVAL_MS);
    }
    await session.close();
  }
}
