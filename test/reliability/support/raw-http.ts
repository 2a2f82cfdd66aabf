/**
 * HTTP/1.1 over a bare TCP socket, for what app.inject() cannot send: invalid UTF-8 bytes on the wire,
 * oversized headers, malformed chunked encoding, bare CR/LF in headers, smuggling-shaped framing.
 */
import { connect } from 'node:net';

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  ms: number;
}

export class NoAnswer extends Error {
  override name = 'NoAnswer';
}

/** `toHead`: the answer to a HEAD request, which has no body whatever its Content-Length says. */
export function parseAnswer(data: Buffer, ms: number, toHead: boolean): RawAnswer | undefined {
  // An interim answer (100 Continue) comes first: the final answer follows it. 101 (a WebSocket) is final.
  while (/^HTTP\/1\.[01] 1(0[02-9]|[1-9]\d) /.test(data.subarray(0, 13).toString('latin1'))) {
    const interimEnd = data.indexOf('\r\n\r\n');
    if (interimEnd < 0) return undefined;
    data = data.subarray(interimEnd + 4);
  }
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const head = data.subarray(0, end).toString('latin1').split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(head[0] ?? '');
  if (!status) return undefined;
  const headers: Record<string, string> = {};
  for (const line of head.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = data.subarray(end + 4);
  if (toHead) {
    body = Buffer.alloc(0);
  } else if (headers['transfer-encoding']?.toLowerCase() === 'chunked') {
    const chunks: Buffer[] = [];
    let at = 0;
    for (;;) {
      const lineEnd = body.indexOf('\r\n', at);
      if (lineEnd < 0) return undefined;
      const size = parseInt(body.subarray(at, lineEnd).toString('latin1'), 16);
      if (Number.isNaN(size)) return undefined;
      if (size === 0) break;
      if (body.length < lineEnd + 2 + size) return undefined;
      chunks.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
      at = lineEnd + 2 + size + 2;
    }
    body = Buffer.concat(chunks);
  } else if (headers['content-length'] !== undefined) {
    const length = Number(headers['content-length']);
    if (body.length < length) return undefined;
    body = body.subarray(0, length);
  }
  return { status: Number(status[1]), headers, body: body.toString('utf8'), ms };
}

/**
 * Writes the bytes and resolves with the first response; rejects with NoAnswer when the server closes the
 * connection without answering, or when nothing complete arrived within timeoutMs.
 */
export function rawRequest(port: number, bytes: Buffer, timeoutMs: number): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const toHead = bytes.subarray(0, 5).toString('latin1') === 'HEAD ';
    const socket = connect({ port, host: '127.0.0.1' });
    const received: Buffer[] = [];
    let settled = false;
    const finish = (outcome: RawAnswer | Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const timer = setTimeout(() => finish(new NoAnswer(`no complete answer within ${timeoutMs} ms`)), timeoutMs);
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (chunk: Buffer) => {
      received.push(chunk);
      const answer = parseAnswer(Buffer.concat(received), performance.now() - started, toHead);
      if (answer) finish(answer);
    });
    // The server may reset after answering a request it refused (it does not read the rest of the bytes).
    socket.on('error', () => finish(parseAnswer(Buffer.concat(received), performance.now() - started, toHead) ?? new NoAnswer('connection reset without an answer')));
    socket.on('end', () => finish(parseAnswer(Buffer.concat(received), performance.now() - started, toHead) ?? new NoAnswer('connection closed without an answer')));
  });
}
