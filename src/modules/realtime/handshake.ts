/**
 * The WebSocket handshake checks ws makes in handleUpgrade, made first. ws refuses a bad handshake with a
 * bare text/html 400 on the raw socket, while every refusal of this endpoint is meant to be problem JSON
 * before the upgrade (found by the bad-input fuzzer's socket pass). At least as strict as ws, so ws never
 * refuses a handshake that passed here.
 */
import type { IncomingHttpHeaders } from 'node:http';

const KEY = /^[+/0-9A-Za-z]{22}==$/;
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const TOKEN_LIST = new RegExp(`^${TOKEN}(?:[ \\t]*,[ \\t]*${TOKEN})*$`);

/** Why the handshake would be refused, or undefined when ws will accept it. */
export function handshakeProblem(headers: IncomingHttpHeaders): string | undefined {
  if (headers.upgrade?.toLowerCase() !== 'websocket') return 'Upgrade must be "websocket".';
  const key = headers['sec-websocket-key'];
  if (typeof key !== 'string' || !KEY.test(key)) return 'Sec-WebSocket-Key must be 16 bytes in base64.';
  const version = headers['sec-websocket-version'];
  if (version !== '13' && version !== '8') return 'Sec-WebSocket-Version must be 13.';
  const protocols = headers['sec-websocket-protocol'];
  if (protocols !== undefined) {
    const names = protocols.split(',').map((name) => name.trim());
    if (!TOKEN_LIST.test(protocols) || new Set(names).size !== names.length) return 'Sec-WebSocket-Protocol must be a list of distinct tokens.';
  }
  return undefined;
}
