/**
 * A client process of bench/realtime.ts (forked, IPC): opens `count` WebSockets from its own loopback source
 * address (so several processes do not exhaust one address' ephemeral ports), `concurrency` handshakes in
 * flight, then holds them idle (answering pings) until told to close. On ggscale a socket counts as open
 * once its first frame, the welcome (with the session's resume token), has arrived.
 */
import { WebSocket } from 'ws';

export interface OpenOrder {
  type: 'open';
  url: string;
  /** Credentials used round-robin (as ?token=); none for the baseline. */
  tokens: string[];
  count: number;
  localAddress: string;
  concurrency: number;
}

export interface OpenedReport {
  type: 'opened';
  opened: number;
  failed: number;
  /** Sockets whose first frame was a welcome (0 for the baseline, which sends none). */
  welcomed: number;
  ms: number;
  firstError?: string;
}

const sockets: WebSocket[] = [];
let welcomed = 0;

function openOne(order: OpenOrder, index: number): Promise<void> {
  const token = order.tokens.length > 0 ? order.tokens[index % order.tokens.length] : undefined;
  const url = token === undefined ? order.url : `${order.url}?token=${encodeURIComponent(token)}`;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { localAddress: order.localAddress, perMessageDeflate: false });
    const held = () => {
      sockets.push(ws);
      ws.removeAllListeners('error');
      ws.on('error', () => undefined);
      resolve();
    };
    if (token === undefined) {
      ws.once('open', held);
    } else {
      ws.once('message', (data: Buffer) => {
        if (!data.toString().startsWith('{"op":"welcome"')) {
          ws.terminate();
          return reject(new Error(`first frame was not a welcome: ${data.toString().slice(0, 120)}`));
        }
        welcomed += 1;
        held();
      });
    }
    ws.once('unexpected-response', (_request, response) => {
      reject(new Error(`HTTP ${response.statusCode}`));
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

async function open(order: OpenOrder): Promise<OpenedReport> {
  const started = performance.now();
  let next = 0;
  let failed = 0;
  let firstError: string | undefined;
  const lane = async () => {
    while (next < order.count) {
      const index = next++;
      try {
        await openOne(order, index);
      } catch (error) {
        failed += 1;
        firstError ??= error instanceof Error ? error.message : String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: order.concurrency }, lane));
  return { type: 'opened', opened: sockets.length, failed, welcomed, ms: performance.now() - started, ...(firstError ? { firstError } : {}) };
}

process.send!({ type: 'ready' });
process.on('message', (message: OpenOrder | { type: 'close' }) => {
  if (message.type === 'open') {
    void open(message).then((report) => process.send!(report));
  } else {
    for (const ws of sockets.splice(0)) ws.terminate();
    process.send!({ type: 'closed' }, () => process.exit(0));
  }
});
