/**
 * The realtime wire format: JSON text frames `{"op": "...", "id"?: "...", ...}`. A reply echoes the request's
 * `id`; a request that cannot be served gets an error frame, never a disconnect:
 * `{"op":"error","id"?,"code","status","message",...}`, where `code` is `bad-request`, `unknown-op`,
 * `rate-limited` or a REST problem slug with its REST status. Events carry the session's `seq`:
 * `{"op":"<event>","seq",...}`.
 */
import { MAX_JSON_DEPTH, exceedsJsonDepth } from '../../http/json-body.js';
import { statusOfSlug, type ProblemSlug } from '../../internal/errors/app-error.js';

/** The frame-level codes, beside the REST slugs an op may answer with. */
export type FrameErrorCode = 'bad-request' | 'unknown-op' | 'rate-limited';
export type ErrorCode = FrameErrorCode | ProblemSlug;

const FRAME_STATUS: Record<FrameErrorCode, number> = { 'bad-request': 400, 'unknown-op': 400, 'rate-limited': 429 };

function statusOf(code: ErrorCode): number {
  return code in FRAME_STATUS ? FRAME_STATUS[code as FrameErrorCode] : statusOfSlug[code as ProblemSlug];
}

export interface RealtimeRequest {
  op: string;
  id?: string;
  [field: string]: unknown;
}

export type Parsed = { ok: true; request: RealtimeRequest } | { ok: false; message: string; id?: string };

const MAX_OP_LENGTH = 64;
const MAX_ID_LENGTH = 128;

/** Close codes the server uses (RFC 6455 §7.4; 4000-4999 are the application's own). */
export const CloseCode = {
  /** The client ends its session (no resume). */
  normal: 1000,
  /** The client is going away (a client's 1001 detaches its session like a network loss). */
  goingAway: 1001,
  /** Persistent abuse, e.g. flooding past the message budget. */
  policyViolation: 1008,
  /** A frame larger than WS_MAX_MESSAGE_BYTES (sent by ws itself). */
  tooBig: 1009,
  internalError: 1011,
  /** The node is restarting: reconnect (to another node). */
  serviceRestart: 1012,
  /** The session ended (logout, revocation) or the player was banned: do not reconnect with this token. */
  credentialRevoked: 4001,
  /** Replaced by a connection that resumed this session (outside a drain). */
  replaced: 4002,
} as const;

function idOf(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_ID_LENGTH ? value : undefined;
}

/** Parses a text frame. ws has already checked that it is valid UTF-8 (or closed the socket with 1007). */
export function parseRequest(data: Buffer): Parsed {
  const text = data.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, message: 'The frame is not valid JSON.' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, message: 'A frame must be a JSON object such as {"op":"ping"}.' };
  }
  const fields = value as Record<string, unknown>;
  const id = idOf(fields.id);
  if (fields.id !== undefined && id === undefined) {
    return { ok: false, message: `"id" must be a string of 1 to ${MAX_ID_LENGTH} characters.` };
  }
  // The REST rule: JSON.parse copes with any depth (the frame size bounds it), but an op that stringifies or
  // walks its data would overflow the stack. Checked after the parse, so the refusal still carries the id.
  if (exceedsJsonDepth(text)) {
    return { ok: false, message: `The frame is nested deeper than ${MAX_JSON_DEPTH} levels.`, ...(id === undefined ? {} : { id }) };
  }
  const op = fields.op;
  if (typeof op !== 'string' || op.length === 0 || op.length > MAX_OP_LENGTH) {
    return { ok: false, message: `"op" must be a string of 1 to ${MAX_OP_LENGTH} characters.`, ...(id === undefined ? {} : { id }) };
  }
  return { ok: true, request: fields as RealtimeRequest };
}

/** The id of a frame, when it has a usable one (for error frames about frames that were not processed). */
export function peekId(data: Buffer): string | undefined {
  const parsed = parseRequest(data);
  return parsed.ok ? parsed.request.id : parsed.id;
}

export function replyFrame(op: string, id: string | undefined, body: Record<string, unknown> = {}): string {
  return JSON.stringify(id === undefined ? { op, ...body } : { op, id, ...body });
}

/** `status` is the code's own unless given (an AppError may carry another, e.g. a 413 quota). */
export function errorFrame(code: ErrorCode, message: string, id?: string, extra: Readonly<Record<string, unknown>> = {}, status = statusOf(code)): string {
  // The frame's own members last: an extension can never overwrite them.
  return replyFrame('error', id, { ...extra, code, status, message });
}

/** An event numbered for the session that receives it. */
export function eventFrame(seq: number, event: { op: string; [field: string]: unknown }): string {
  const { op, ...fields } = event;
  return JSON.stringify({ op, seq, ...fields });
}
