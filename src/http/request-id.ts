import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

// A client's id is echoed only when it is short and plain (it ends up in logs and headers).
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestIdOf(req: IncomingMessage): string {
  const sent = req.headers['x-request-id'];
  return typeof sent === 'string' && SAFE_REQUEST_ID.test(sent) ? sent : randomUUID();
}
