/**
 * Requests that arrive too slowly or stop partway, over a bare socket: a head or a body (plain or chunked)
 * that stalls, or that trickles in a byte at a time for longer than REQUEST_TIMEOUT_MS. Aimed at real routes
 * with real credentials. Whatever the route, the server must, within the bound, either refuse early (a 401
 * needs no body) or answer 408, or close the connection: never hold it, and never answer late with anything
 * but 408.
 */
import { connect } from 'node:net';
import fc from 'fast-check';
import type { CredentialKind, Credentials } from './fuzz-request.js';
import { parseAnswer, type RawAnswer } from './raw-http.js';
import type { Target } from './wire-faults.js';

export const SLOW_FAULTS = ['stalled-head', 'trickled-head', 'stalled-body', 'trickled-body', 'stalled-chunked', 'trickled-chunked'] as const;
export type SlowFault = (typeof SLOW_FAULTS)[number];

export interface SlowRequest {
  fault: SlowFault;
  kind: CredentialKind;
  target: Target;
  /** Written at once. */
  first: Buffer;
  /** Then written one byte per tick, until the server answers or closes; long enough never to finish in time. */
  trickle: Buffer;
}

export interface SlowOutcome {
  /** The first complete answer, if one came. */
  answer: RawAnswer | undefined;
  /** How long until that answer, or until the server closed the connection (or until the run gave up). */
  ms: number;
  closed: boolean;
  bytesSent: number;
}

const b = (text: string) => Buffer.from(text, 'latin1');
/** More bytes than a trickle of one per tick can send within any bound used here. */
const ENDLESS = 100_000;

function headLines(target: Target, auth: string[], extra: string[]): string {
  return [`${target.method} ${target.path} HTTP/1.1`, 'Host: ggscale.test', ...auth, ...extra].join('\r\n');
}

function contentType(target: Target): string {
  return target.json ? 'Content-Type: application/json' : 'Content-Type: application/octet-stream';
}

type Build = (target: Target, auth: string[]) => { first: Buffer; trickle: Buffer };

const BUILDS: Record<SlowFault, Build> = {
  // The head stops before its blank line.
  'stalled-head': (t, auth) => ({ first: b(`${headLines(t, auth, ['X-Waiting: yes'])}\r\n`), trickle: Buffer.alloc(0) }),
  // A header whose value never ends.
  'trickled-head': (t, auth) => ({ first: b(`${headLines(t, auth, [])}\r\nX-Slow: `), trickle: b('a'.repeat(ENDLESS)) }),
  // Content-Length promises more than ever comes.
  'stalled-body': (t, auth) => ({ first: b(`${headLines(t, auth, [contentType(t), 'Content-Length: 1000'])}\r\n\r\n{"name":"half`), trickle: Buffer.alloc(0) }),
  'trickled-body': (t, auth) => ({
    first: b(`${headLines(t, auth, [contentType(t), `Content-Length: ${ENDLESS + 8}`])}\r\n\r\n{"name":"`),
    trickle: b('x'.repeat(ENDLESS)),
  }),
  // One chunk, then nothing (no last chunk).
  'stalled-chunked': (t, auth) => ({ first: b(`${headLines(t, auth, [contentType(t), 'Transfer-Encoding: chunked'])}\r\n\r\n5\r\n{"a":\r\n`), trickle: Buffer.alloc(0) }),
  // One-byte chunks, one byte at a time.
  'trickled-chunked': (t, auth) => ({
    first: b(`${headLines(t, auth, [contentType(t), 'Transfer-Encoding: chunked'])}\r\n\r\n1\r\n[\r\n`),
    trickle: b('1\r\n0\r\n'.repeat(ENDLESS / 6)),
  }),
};

function authLines(kind: CredentialKind, credentials: Credentials): string[] {
  if (kind === 'none') return [];
  if (kind === 'garbage') return ['Authorization: Bearer ggs_sk_not-a-real-key-0123456789'];
  return [`Authorization: Bearer ${credentials[kind]}`];
}

/** Slow requests of every fault, aimed at the targets with every credential kind. */
export function slowRequestArbitrary(targets: Target[], credentials: Credentials, kinds: readonly CredentialKind[]): fc.Arbitrary<SlowRequest> {
  return fc
    .record({ fault: fc.constantFrom(...SLOW_FAULTS), target: fc.constantFrom(...targets), kind: fc.constantFrom(...kinds) })
    .map(({ fault, target, kind }) => ({ fault, kind, target, ...BUILDS[fault](target, authLines(kind, credentials)) }));
}

export function describeSlow(request: SlowRequest): string {
  const first = request.first.toString('latin1').replace(/Bearer \S+/g, 'Bearer …');
  return `[${request.fault}; ${request.kind}] ${request.target.method} ${request.target.path}: ${JSON.stringify(first.slice(0, 300))} then ${request.trickle.length > 0 ? 'a byte per tick' : 'nothing'}`;
}

/**
 * Sends the request slowly and watches: resolves at the first complete answer, or when the server closes,
 * or after `giveUpMs` (then `closed` is false and there is no answer: the server held the connection).
 */
export function sendSlowly(port: number, request: SlowRequest, giveUpMs: number, tickMs = 50): Promise<SlowOutcome> {
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = connect({ port, host: '127.0.0.1' });
    const received: Buffer[] = [];
    let bytesSent = 0;
    let next = 0;
    let ticker: NodeJS.Timeout | undefined;
    let settled = false;
    const finish = (answer: RawAnswer | undefined, closed: boolean) => {
      if (settled) return;
      settled = true;
      clearInterval(ticker);
      clearTimeout(giveUp);
      socket.destroy();
      resolve({ answer, ms: performance.now() - started, closed, bytesSent });
    };
    const giveUp = setTimeout(() => finish(undefined, false), giveUpMs);
    const parsed = () => parseAnswer(Buffer.concat(received), performance.now() - started, request.target.method === 'HEAD');
    socket.on('connect', () => {
      socket.write(request.first);
      bytesSent += request.first.length;
      if (request.trickle.length === 0) return;
      ticker = setInterval(() => {
        if (next >= request.trickle.length || !socket.writable) return;
        socket.write(request.trickle.subarray(next, next + 1));
        next += 1;
        bytesSent += 1;
      }, tickMs);
    });
    socket.on('data', (chunk: Buffer) => {
      received.push(chunk);
      const answer = parsed();
      if (answer) finish(answer, false);
    });
    // A reset is a close too (the server may drop a connection whose request it gave up on).
    socket.on('error', () => finish(parsed(), true));
    socket.on('close', () => finish(parsed(), true));
  });
}
