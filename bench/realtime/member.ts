/**
 * A client process of the realtime sections (forked, IPC): holds WebSockets to ONE server (a ggscale node or
 * the bare broadcast baseline), optionally joins a channel on each, sends on a schedule from its first
 * socket, and measures what arrives.
 *
 * Latency: every frame sent carries {"t": <send time>, "k": <message number>} in its data (or presence meta),
 * the send time being the SCHEDULED time as wall-clock ms with sub-ms precision (performance.timeOrigin +
 * performance.now(), comparable across processes of one machine). A receiving socket takes now − t; it finds
 * t and k with a regular expression on the raw frame (cheaper than JSON.parse, so the clients cost little).
 * Each socket remembers which k it has seen, so loss and duplicates are counted.
 */
import { WebSocket, type RawData } from 'ws';

export interface OpenOrder {
  type: 'open';
  url: string;
  /** One socket per token (as ?token=); for the baseline, `count` sockets without one. */
  tokens: string[];
  count?: number;
  localAddress: string;
  /** Joins this channel on every socket (channel.join, history 0) after its welcome. */
  join?: string;
  concurrency: number;
}

export interface OpenedReport {
  type: 'opened';
  opened: number;
  failed: number;
  welcomed: number;
  joined: number;
  joinRetries: Record<string, number>;
  ms: number;
  firstError?: string;
}

export interface SendOrder {
  type: 'send';
  /** What to send from the first socket: a chat message to `channel`, or a presence update. */
  kind: 'chat' | 'presence';
  channel?: string;
  count: number;
  /** Messages per second on a fixed schedule (open loop); 0: as fast as answers come back, `window` unanswered at most. */
  rate: number;
  window?: number;
  /** Characters of padding in the data, so every run sends the same size. */
  pad: number;
  /** Give up waiting for answers this long after the last scheduled send. */
  waitMs: number;
}

export interface SentReport {
  type: 'sent';
  /** Latency of each answer (ok, or the baseline's echo) from its scheduled send time, ms. */
  acks: number[];
  errors: number;
  firstError?: string;
  /** Wall-clock ms of the first scheduled send. */
  startedAt: number;
  /** The largest lag between a scheduled time and the actual send (the sender's own delay), ms. */
  maxSendLagMs: number;
}

export interface CollectOrder {
  type: 'collect';
  /** Wait until every socket has seen this many distinct messages, or nothing arrived for idleMs. */
  expect: number;
  idleMs: number;
}

export interface CollectedReport {
  type: 'collected';
  sockets: number;
  latencies: number[];
  /** Distinct messages still missing, summed over the sockets; repeats of one already seen. */
  missing: number;
  duplicates: number;
  /** Wall-clock ms of the last delivery, 0 if none. */
  lastAt: number;
}

const now = () => performance.timeOrigin + performance.now();
// Key order is not kept (jsonb sorts keys), so t and k are found apart; "t" and "k" are no other member's name.
const STAMP_T = /"t": ?([0-9.]+)/;
const STAMP_K = /"k": ?([0-9]+)/;
const OWN_ID = /"id":"(s[0-9]+|join)"/;

interface Held {
  ws: WebSocket;
  seen: Set<number>;
  duplicates: number;
  /** Answer waiters by request id. */
  pending: Map<string, (frame: string) => void>;
}

const held: Held[] = [];
/** Request ids are never reused within a process: ggscale answers a repeated channel.send id from memory. */
let serial = 0;
let latencies: number[] = [];
let lastAt = 0;
let arrived = () => undefined as void;

/** Frames arrive as one Buffer each (binaryType 'nodebuffer', no extensions). */
const asText = (data: RawData) => (data as Buffer).toString();

function onFrame(h: Held, data: RawData): void {
  const text = asText(data);
  // A frame holding one of our ids answers a request (ok/error, or the baseline's echo of a request).
  const id = OWN_ID.exec(text)?.[1];
  if (id !== undefined && h.pending.has(id)) {
    const waiter = h.pending.get(id)!;
    h.pending.delete(id);
    waiter(text);
    // The baseline echoes a request to every socket, its sender's included: that copy is also a delivery.
    if (!text.startsWith('{"op":"channel.send"') && !text.startsWith('{"op":"presence.update"')) return;
  }
  const t = STAMP_T.exec(text)?.[1];
  const k = Number(STAMP_K.exec(text)?.[1]);
  if (t === undefined || !Number.isInteger(k)) return;
  const at = now();
  if (h.seen.has(k)) {
    h.duplicates += 1;
    return;
  }
  h.seen.add(k);
  latencies.push(at - Number(t));
  lastAt = at;
  arrived();
}

function request(h: Held, frame: Record<string, unknown> & { id: string }): Promise<string> {
  return new Promise((resolve) => {
    h.pending.set(frame.id, resolve);
    h.ws.send(JSON.stringify(frame));
  });
}

/**
 * Refusals retried after 200-500 ms, as a client would, by kind: upgrades answered 503, joins answered
 * `unavailable` (503: the node shedding load) or `internal` (500).
 */
let joinRetries: Record<string, number> = {};

async function join(h: Held, channel: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const answer = await request(h, { op: 'channel.join', id: 'join', channel, history: 0 });
    if (answer.startsWith('{"op":"ok"')) return;
    const code = /"code":"(unavailable|internal)"/.exec(answer)?.[1];
    if (code === undefined || attempt >= 20) throw new Error(`join: ${answer.slice(0, 200)}`);
    joinRetries[`join ${code}`] = (joinRetries[`join ${code}`] ?? 0) + 1;
    await new Promise((resolve) => setTimeout(resolve, 200 + Math.random() * 300));
  }
}

function openOne(order: OpenOrder, token: string | undefined): Promise<{ welcomed: boolean; joined: boolean }> {
  const url = token === undefined ? order.url : `${order.url}?token=${encodeURIComponent(token)}`;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { localAddress: order.localAddress, perMessageDeflate: false });
    const h: Held = { ws, seen: new Set(), duplicates: 0, pending: new Map() };
    let welcomed = false;
    ws.once('unexpected-response', (_request, response) => {
      reject(new Error(`HTTP ${response.statusCode}`));
      ws.terminate();
    });
    ws.once('error', reject);
    ws.on('message', (data) => {
      if (!welcomed && token !== undefined) {
        welcomed = asText(data).startsWith('{"op":"welcome"');
        if (!welcomed) return reject(new Error(`first frame was not a welcome: ${asText(data).slice(0, 120)}`));
        held.push(h);
        ws.removeAllListeners('error');
        ws.on('error', () => undefined);
        if (!order.join) return resolve({ welcomed, joined: false });
        void join(h, order.join).then(() => resolve({ welcomed, joined: true }), reject);
        return;
      }
      onFrame(h, data);
    });
    ws.once('open', () => {
      if (token !== undefined) return; // resolved by the welcome
      held.push(h);
      ws.removeAllListeners('error');
      ws.on('error', () => undefined);
      resolve({ welcomed: false, joined: false });
    });
  });
}

async function open(order: OpenOrder): Promise<OpenedReport> {
  const started = performance.now();
  const total = order.tokens.length > 0 ? order.tokens.length : (order.count ?? 0);
  let next = 0;
  let failed = 0;
  let welcomed = 0;
  let joined = 0;
  let firstError: string | undefined;
  const lane = async () => {
    while (next < total) {
      const index = next++;
      for (let attempt = 0; ; attempt++) {
        try {
          const outcome = await openOne(order, order.tokens[index]);
          if (outcome.welcomed) welcomed += 1;
          if (outcome.joined) joined += 1;
          break;
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          if (message === 'HTTP 503' && attempt < 20) {
            joinRetries['upgrade 503'] = (joinRetries['upgrade 503'] ?? 0) + 1;
            await new Promise((resolve) => setTimeout(resolve, 200 + Math.random() * 300));
            continue;
          }
          failed += 1;
          firstError ??= message;
          break;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: order.concurrency }, lane));
  const retries = joinRetries;
  joinRetries = {};
  return { type: 'opened', opened: held.length, failed, welcomed, joined, joinRetries: retries, ms: performance.now() - started, ...(firstError ? { firstError } : {}) };
}

async function send(order: SendOrder): Promise<SentReport> {
  const h = held[0];
  if (!h) throw new Error('no socket to send from');
  const acks: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let maxSendLagMs = 0;
  const pad = 'x'.repeat(order.pad);
  const interval = order.rate > 0 ? 1000 / order.rate : 0;
  const startedAt = now() + (interval === 0 ? 0 : 20);
  const answers: Promise<void>[] = [];
  const sendOne = (k: number, scheduled = startedAt + k * interval) => {
    maxSendLagMs = Math.max(maxSendLagMs, now() - scheduled);
    const data = { t: scheduled, k, p: pad };
    const id = `s${serial++}`;
    const frame = order.kind === 'chat' ? { op: 'channel.send', id, channel: order.channel, data } : { op: 'presence.update', id, meta: data };
    answers.push(
      request(h, frame).then((answer) => {
        if (answer.startsWith('{"op":"error"')) {
          errors += 1;
          firstError ??= answer.slice(0, 200);
        } else {
          acks.push(now() - scheduled);
        }
      }),
    );
  };
  let k = 0;
  if (interval === 0) {
    // Closed loop: `window` requests in flight (each scheduled when it is actually sent).
    const window = order.window ?? order.count;
    const lane = async () => {
      while (k < order.count) {
        const mine = k++;
        sendOne(mine, now());
        await answers[answers.length - 1];
      }
    };
    await Promise.all(Array.from({ length: Math.min(window, order.count) }, lane));
  }
  while (k < order.count) {
    const due = interval === 0 ? order.count : Math.min(order.count, Math.floor((now() - startedAt) / interval) + 1);
    while (k < due) sendOne(k++);
    if (k < order.count) await new Promise((resolve) => setTimeout(resolve, Math.max(0, startedAt + k * interval - now())));
  }
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all(answers), new Promise((resolve) => (timer = setTimeout(resolve, order.waitMs)))]);
  clearTimeout(timer);
  h.pending.clear();
  return { type: 'sent', acks, errors, startedAt, maxSendLagMs, ...(firstError ? { firstError } : {}) };
}

async function collect(order: CollectOrder): Promise<CollectedReport> {
  const complete = () => held.every((h) => h.seen.size >= order.expect);
  let lastChange = performance.now();
  arrived = () => {
    lastChange = performance.now();
  };
  while (!complete() && performance.now() - lastChange < order.idleMs) await new Promise((resolve) => setTimeout(resolve, 20));
  arrived = () => undefined;
  const report: CollectedReport = {
    type: 'collected',
    sockets: held.length,
    latencies,
    missing: held.reduce((sum, h) => sum + Math.max(0, order.expect - h.seen.size), 0),
    duplicates: held.reduce((sum, h) => sum + h.duplicates, 0),
    lastAt,
  };
  latencies = [];
  lastAt = 0;
  for (const h of held) {
    h.seen.clear();
    h.duplicates = 0;
  }
  return report;
}

async function closeAll(): Promise<void> {
  // 1000: the session ends at once (no detached session lingering in channels or presence).
  await Promise.all(
    held.splice(0).map((h) => new Promise<void>((resolve) => {
      if (h.ws.readyState === WebSocket.CLOSED) return resolve();
      const timer = setTimeout(() => {
        h.ws.terminate();
        resolve();
      }, 5_000);
      h.ws.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      h.ws.close(1000);
    })),
  );
}

type Order = OpenOrder | SendOrder | CollectOrder | { type: 'close' } | { type: 'exit' };

process.send!({ type: 'ready' });
process.on('message', (message: Order) => {
  const reply = (value: unknown) => process.send!(value);
  const fail = (error: unknown) => process.send!({ type: 'failed', error: error instanceof Error ? error.message : String(error) });
  switch (message.type) {
    case 'open':
      void open(message).then(reply, fail);
      break;
    case 'send':
      void send(message).then(reply, fail);
      break;
    case 'collect':
      void collect(message).then(reply, fail);
      break;
    case 'close':
      void closeAll().then(() => reply({ type: 'closed' }), fail);
      break;
    case 'exit':
      for (const h of held.splice(0)) h.ws.terminate();
      process.send!({ type: 'exited' }, () => process.exit(0));
      break;
  }
});
