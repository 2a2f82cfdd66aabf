/**
 * Requests as raw bytes, each with one fault only a socket can carry: invalid UTF-8 in the request line,
 * headers or body; oversized heads; malformed chunked framing; bare CR, LF or NUL in headers; conflicting
 * lengths; odd request lines. Aimed at real routes with real credentials, so a fault that slips through
 * the parser reaches a handler.
 */
import fc from 'fast-check';
import type { CredentialKind, Credentials } from './fuzz-request.js';

export interface WireRequest {
  fault: string;
  kind: CredentialKind;
  bytes: Buffer;
}

const b = (text: string) => Buffer.from(text, 'latin1');

/** Byte sequences that are not UTF-8: lone continuation, overlong, surrogate halves, beyond U+10FFFF, truncated. */
export const INVALID_UTF8 = ['\xff', '\xfe\xff', '\xc0\xaf', '\xe0\x80\xaf', '\xed\xa0\x80', '\xed\xbf\xbf', '\xf4\x90\x80\x80', '\xf8\x88\x80\x80\x80', '\xe2\x82', '\x80'];

export interface Target {
  method: string;
  path: string;
  json: boolean;
}

function head(method: string, path: string, lines: string[], version = 'HTTP/1.1'): string {
  return `${method} ${path} ${version}\r\n${['Host: ggscale.test', 'Connection: close', ...lines].join('\r\n')}\r\n\r\n`;
}

function withBody(target: Target, auth: string[], body: Buffer, extra: string[] = []): Buffer {
  const type = target.json ? ['Content-Type: application/json'] : ['Content-Type: application/octet-stream'];
  return Buffer.concat([b(head(target.method, target.path, [...auth, ...type, `Content-Length: ${body.length}`, ...extra])), body]);
}

type Fault = (target: Target, auth: string[], bad: string, n: number) => Buffer;

const FAULTS: Record<string, Fault> = {
  'utf8-path': (t, auth, bad) => b(head(t.method, t.path.replace(/\/([^/]*)$/, `/$1${bad}`), auth)),
  'utf8-query': (t, auth, bad) => b(head(t.method, `${t.path}?prefix=${bad}&owner=${bad}&cursor=${bad}&limit=${bad}`, auth)),
  'utf8-authorization': (t, _auth, bad) => b(head(t.method, t.path, [`Authorization: Bearer ggs_sk_${bad}`])),
  'utf8-headers': (t, auth, bad) =>
    b(head(t.method, t.path, [...auth, `X-Request-Id: ${bad}`, `If-Match: "${bad}"`, `If-None-Match: ${bad}`, `Idempotency-Key: k${bad}`, `Origin: http://${bad}`])),
  'utf8-json-body': (t, auth, bad) => withBody({ ...t, json: true }, auth, b(`{"email":"a${bad}@b.c","password":"pw${bad}pw${bad}pw","name":"${bad}","score":1,"fleet":"${bad}","id":"${bad}"}`)),
  'utf8-content-type': (t, auth, bad) => Buffer.concat([b(head(t.method, t.path, [...auth, `Content-Type: application/${bad}json`, 'Content-Length: 2'])), b('{}')]),
  'oversized-header': (t, auth, _bad, n) => b(head(t.method, t.path, [...auth, `X-Big: ${'x'.repeat(17_000 + n * 1000)}`])),
  'oversized-head-many': (t, auth, _bad, n) => b(head(t.method, t.path, [...auth, ...Array.from({ length: 400 + n * 10 }, (_, i) => `X-H${i}: ${'v'.repeat(60)}`)])),
  'oversized-url': (t, auth, _bad, n) => b(head(t.method, `${t.path}?q=${'a'.repeat(17_000 + n * 100)}`, auth)),
  'oversized-authorization': (t, _auth, _bad, n) => b(head(t.method, t.path, [`Authorization: Bearer ${'A'.repeat(20_000 + n)}`])),
  'chunked-bad-size': (t, auth) => b(head(t.method, t.path, [...auth, 'Content-Type: application/json', 'Transfer-Encoding: chunked']) + 'zz\r\n{}\r\n0\r\n\r\n'),
  'chunked-huge-size': (t, auth) => b(head(t.method, t.path, [...auth, 'Content-Type: application/json', 'Transfer-Encoding: chunked']) + 'ffffffffffffffffffff\r\n{}\r\n0\r\n\r\n'),
  'chunked-negative-size': (t, auth) => b(head(t.method, t.path, [...auth, 'Content-Type: application/json', 'Transfer-Encoding: chunked']) + '-2\r\n{}\r\n0\r\n\r\n'),
  'chunked-missing-crlf': (t, auth) => b(head(t.method, t.path, [...auth, 'Content-Type: application/json', 'Transfer-Encoding: chunked']) + '2\r\n{}0\r\n\r\n'),
  'chunked-bad-extension': (t, auth) => b(head(t.method, t.path, [...auth, 'Content-Type: application/json', 'Transfer-Encoding: chunked']) + '2;\x00=\x7f\r\n{}\r\n0\r\n\r\n'),
  'chunked-then-garbage': (t, auth) => b(head(t.method, t.path, [...auth, 'Content-Type: application/json', 'Transfer-Encoding: chunked']) + '2\r\n{}\r\n0\r\n\r\nGARBAGE / HTTP/1.1\r\n\r\n'),
  'chunked-unknown-coding': (t, auth) => b(head(t.method, t.path, [...auth, 'Content-Type: application/json', 'Transfer-Encoding: gzip, chunked']) + '2\r\n{}\r\n0\r\n\r\n'),
  'te-and-cl': (t, auth) => b(head(t.method, t.path, [...auth, 'Content-Type: application/json', 'Content-Length: 2', 'Transfer-Encoding: chunked']) + '2\r\n{}\r\n0\r\n\r\n'),
  'double-cl': (t, auth) => b(head(t.method, t.path, [...auth, 'Content-Type: application/json', 'Content-Length: 2', 'Content-Length: 3']) + '{}x'),
  'bad-cl': (t, auth, _bad, n) => b(head(t.method, t.path, [...auth, 'Content-Type: application/json', `Content-Length: ${['-1', '1e1', '0x2', ' 2 2', '+2'][n % 5]}`]) + '{}'),
  'bare-cr-in-header': (t, auth) => b(head(t.method, t.path, [...auth, 'X-Request-Id: safe\rX-Injected: 1'])),
  'bare-lf-in-header': (t, auth) => b(head(t.method, t.path, [...auth, 'X-Request-Id: safe\nX-Injected: 1'])),
  'nul-in-header': (t, auth) => b(head(t.method, t.path, [...auth, 'X-Request-Id: a\x00b', 'If-Match: "\x00"'])),
  'nul-in-path': (t, auth) => b(head(t.method, `${t.path}\x00/../x`, auth)),
  'obs-fold': (t, auth) => b(head(t.method, t.path, [...auth, 'X-Folded: a', ' b'])),
  'space-before-colon': (t, auth) => b(head(t.method, t.path, [...auth, 'Content-Type : application/json'])),
  'bad-method': (t, auth, _bad, n) => b(head(['FOO', 'get', 'G\xc3\xa9T', 'CONNECT', 'TRACE', 'PRI'][n % 6]!, t.path, auth)),
  'bad-version': (t, auth, _bad, n) => b(head(t.method, t.path, auth, ['HTTP/2.0', 'HTTP/1.2', 'HTTP/9', 'http/1.1', 'HTTP/1.1x', ''][n % 6])),
  'no-host': (t, auth) => b(`${t.method} ${t.path} HTTP/1.1\r\nConnection: close\r\n${auth.map((l) => `${l}\r\n`).join('')}\r\n`),
  'absolute-uri': (t, auth) => b(head(t.method, `http://evil.example${t.path}`, auth)),
  'traversal-raw': (t, auth, _bad, n) => b(head(t.method, ['/v1/../v1/healthz', '/v1/storage/../../etc/passwd', '/v1/./admin/tenants', '//v1/healthz', '/v1/%2e%2e/%2e%2e/etc/passwd'][n % 5]!, auth)),
  'upgrade-websocket-anywhere': (t, auth, _bad, n) =>
    b(head(t.method, t.path, [...auth, 'Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', `Sec-WebSocket-Key: ${['dGhlIHNhbXBsZSBub25jZQ==', 'short', ''][n % 3]}`]).replace('Connection: close\r\n', '')),
  'upgrade-websocket-bad-handshake': (_t, auth, bad, n) =>
    b(
      head('GET', '/v1/realtime', [
        ...auth,
        'Connection: Upgrade',
        'Upgrade: websocket',
        `Sec-WebSocket-Version: ${['13', '8', 'x', ''][n % 4]}`,
        `Sec-WebSocket-Key: ${['dGhlIHNhbXBsZSBub25jZQ==', 'short', `k${bad}`, ''][(n >> 2) % 4]}`,
        `Sec-WebSocket-Extensions: ${['permessage-deflate; client_max_window_bits', 'x;;;', bad][n % 3]}`,
      ]).replace('Connection: close\r\n', ''),
    ),
  'upgrade-h2c': (t, auth) => b(head(t.method, t.path, [...auth, 'Connection: Upgrade, HTTP2-Settings', 'Upgrade: h2c', 'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA']).replace('Connection: close\r\n', '')),
  'expect-unknown': (t, auth) => withBody(t, auth, b('{}'), ['Expect: garbage']),
  'expect-continue': (t, auth) => withBody(t, auth, b('{}'), ['Expect: 100-continue']),
};

export const WIRE_FAULTS = Object.keys(FAULTS);

function authLines(kind: CredentialKind, credentials: Credentials): string[] {
  if (kind === 'none') return [];
  if (kind === 'garbage') return ['Authorization: Bearer ggs_sk_not-a-real-key-0123456789'];
  return [`Authorization: Bearer ${credentials[kind]}`];
}

/** Raw requests with the given fault, aimed at one of the targets with one credential kind. */
export function wireRequestArbitrary(fault: string, targets: Target[], credentials: Credentials, kinds: readonly CredentialKind[]): fc.Arbitrary<WireRequest> {
  return fc
    .record({
      fault: fc.constant(fault),
      target: fc.constantFrom(...targets),
      kind: fc.constantFrom(...kinds),
      bad: fc.constantFrom(...INVALID_UTF8),
      n: fc.nat({ max: 30 }),
    })
    .map(({ fault, target, kind, bad, n }) => ({ fault, kind, bytes: FAULTS[fault]!(target, authLines(kind, credentials), bad, n) }));
}

export function describeWire(request: WireRequest): string {
  const text = request.bytes.toString('latin1');
  const shown = text.length > 600 ? `${text.slice(0, 300)}…(${text.length} bytes)…${text.slice(-100)}` : text;
  return `[${request.fault}; ${request.kind}] ${JSON.stringify(shown)}`;
}
