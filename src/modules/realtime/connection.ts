/**
 * One open WebSocket: who it belongs to, its cap lease, its message budget, its liveness flag, and the ops it
 * serves. Its events are numbered by the session it carries (session.ts), which outlives it when the
 * network drops, so a resume on any node continues the same numbering.
 */
import { randomBytes } from 'node:crypto';
import { WebSocket, type RawData } from 'ws';
import { withDeadline } from '../../internal/deadline.js';
import { isDatabaseUnavailable, toUnavailable } from '../../internal/db/errors.js';
import { cacheUnavailable, isCacheUnavailable } from '../../internal/cache/errors.js';
import { AppError, unavailable } from '../../internal/errors/app-error.js';
import type { Logger } from '../../internal/telemetry/logger.js';
import { OpRateLimited, type OpRequest } from './api.js';
import type { CapLease } from './connection-caps.js';
import { CloseCode, errorFrame, parseRequest, peekId, replyFrame } from './envelope.js';
import { MessageBudget, type MessagePolicy } from './message-budget.js';
import { PING, type OpRegistry } from './ops.js';
import type { PlayerIdentity, RealtimeSession, SessionSink } from './session.js';

export type { PlayerIdentity } from './session.js';

/** Who holds a connection, with what, and its slot under the caps. */
export interface Holder {
  identity: PlayerIdentity;
  /** The credential it connected with, to check it again when a revocation may have been missed. */
  credential: string;
  /** When that credential expires (ms since the epoch). */
  credentialExpiresAt: number;
  lease: CapLease;
}

/** What every connection shares: the op set, the op deadline, where to log. */
export interface ConnectionContext {
  policy: MessagePolicy;
  ops: OpRegistry;
  /** An op gets this long (REQUEST_TIMEOUT_MS), like an HTTP request. */
  opTimeoutMs: number;
  logger: Logger;
  /** A client frame passed its budget and parsed, and is not a ping: usage counts it as a message. */
  onFrameAccepted: (identity: PlayerIdentity) => void;
}

/** How long past its deadline an op may hold its connection's queue before it is answered `unavailable`. */
const STUCK_GRACE_MS = 1_000;

/** Frames a client may send before its welcome (they are served once the session has started). */
const MAX_EARLY_FRAMES = 64;

export class RealtimeConnection implements SessionSink {
  /** Set by a pong (or any frame), cleared by each heartbeat ping: still false at the next ping means dead. */
  alive = true;
  readonly id = randomBytes(12).toString('hex');
  readonly identity: PlayerIdentity;
  readonly credential: string;
  readonly credentialExpiresAt: number;
  readonly lease: CapLease;
  /** The session it carries, once started (a new one, or one it resumed). */
  session: RealtimeSession | undefined;
  /** The close code the server chose, when it closed the socket (decides whether the session detaches). */
  closedBy: number | undefined;
  private readonly budget: MessageBudget;
  /** Requests waiting or being served (they run one at a time, in arrival order). */
  private queued = 0;
  private chain: Promise<void> = Promise.resolve();
  /** Frames that arrived before the session had started, served once it has. */
  private early: { data: RawData; isBinary: boolean }[] | undefined = [];

  constructor(
    readonly socket: WebSocket,
    holder: Holder,
    private readonly context: ConnectionContext,
  ) {
    this.identity = holder.identity;
    this.credential = holder.credential;
    this.credentialExpiresAt = holder.credentialExpiresAt;
    this.lease = holder.lease;
    this.budget = new MessageBudget(context.policy);
  }

  get open(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  /** A frame as it is (control frames carry no seq; events come numbered by the session). */
  send(frame: string): void {
    if (this.open) this.socket.send(frame);
  }

  close(code: number, reason: string): void {
    if (!this.open) return;
    this.closedBy ??= code;
    this.socket.close(code, reason);
  }

  /** The session has started: its queued events go out, then early frames are served. */
  started(session: RealtimeSession, release: () => void): void {
    this.session = session;
    const early = this.early ?? [];
    this.early = undefined;
    release();
    for (const frame of early) this.receive(frame.data, frame.isBinary);
  }

  receive(data: RawData, isBinary: boolean): void {
    this.alive = true;
    // Frames that arrive after we started closing (a revoked session, a shutdown) are not served.
    if (!this.open) return;
    if (this.early) {
      // A client that floods before its welcome is not starting a session in good faith.
      if (this.early.length >= MAX_EARLY_FRAMES) this.close(CloseCode.policyViolation, 'too many frames before welcome');
      else this.early.push({ data, isBinary });
      return;
    }
    const verdict = this.budget.take();
    if (verdict === 'abuse') {
      this.close(CloseCode.policyViolation, 'message rate exceeded');
      return;
    }
    const bytes = toBuffer(data);
    if (verdict === 'refused') {
      const retryAfterMs = this.budget.retryAfterMs();
      this.send(errorFrame('rate-limited', 'Too many messages; slow down.', isBinary ? undefined : peekId(bytes), { retry_after_ms: retryAfterMs }));
      return;
    }
    if (isBinary) {
      this.send(errorFrame('bad-request', 'Binary frames are not accepted; send JSON text frames.'));
      return;
    }
    const parsed = parseRequest(bytes);
    if (!parsed.ok) {
      this.send(errorFrame('bad-request', parsed.message, parsed.id));
      return;
    }
    if (parsed.request.op !== PING) this.context.onFrameAccepted(this.identity);
    this.serve(parsed.request);
  }

  /**
   * A connection's requests are served one at a time, in the order they arrived (a `channel.send` right
   * after its `channel.join` finds the channel joined), and answered in that order. An idle connection
   * answers a `ping` at once.
   */
  private serve(request: OpRequest): void {
    if (this.queued === 0 && request.op === PING) {
      this.send(replyFrame('pong', request.id));
      return;
    }
    this.queued++;
    this.chain = this.chain
      .then(() => this.run(request))
      .finally(() => {
        this.queued--;
      });
  }

  /** Serves one request; settles once it is answered (never rejects). */
  private async run(request: OpRequest): Promise<void> {
    if (request.op === PING) {
      this.send(replyFrame('pong', request.id));
      return;
    }
    const handler = this.context.ops.get(request.op);
    if (!handler) {
      this.send(errorFrame('unknown-op', `Unknown op "${request.op}".`, request.id));
      return;
    }
    const session = this.session!;
    const release = session.hold();
    // The deadline aborts the op's database work; an op stuck elsewhere still frees the queue a second later.
    let stuck: NodeJS.Timeout | undefined;
    try {
      const result = await Promise.race([
        withDeadline(AbortSignal.timeout(this.context.opTimeoutMs), () => handler(request, session.ref)),
        new Promise<never>((_, reject) => {
          stuck = setTimeout(() => reject(unavailable('The request took too long; try again.', 1)), this.context.opTimeoutMs + STUCK_GRACE_MS);
        }),
      ]);
      this.replyOk(request, result);
    } catch (error) {
      this.replyError(request, error);
    } finally {
      clearTimeout(stuck);
      release();
    }
  }

  private replyOk(request: OpRequest, result: Record<string, unknown> | void): void {
    if (request.id !== undefined) this.send(replyFrame('ok', request.id, result ?? {}));
  }

  private replyError(request: OpRequest, error: unknown): void {
    if (error instanceof OpRateLimited) {
      this.send(errorFrame('rate-limited', error.message, request.id, { retry_after_ms: Math.max(1, Math.ceil(error.retryAfterMs)) }));
      return;
    }
    let failure = error;
    if (!(failure instanceof AppError) && isDatabaseUnavailable(failure)) failure = toUnavailable(failure);
    if (!(failure instanceof AppError) && isCacheUnavailable(failure)) failure = cacheUnavailable();
    if (failure instanceof AppError) {
      this.send(errorFrame(failure.slug, failure.message, request.id, failure.extensions, failure.status));
      return;
    }
    this.context.logger.error({ err: error, op: request.op }, 'realtime op failed');
    this.send(errorFrame('internal', 'The op failed on the server.', request.id));
  }
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
