/**
 * One open WebSocket: who it belongs to, its cap lease, its message budget and its liveness flag. Kept small:
 * a node holds tens of thousands of these.
 */
import { WebSocket, type RawData } from 'ws';
import type { CapLease } from './connection-caps.js';
import { CloseCode, errorFrame, parseRequest, peekId } from './envelope.js';
import { MessageBudget, type MessagePolicy } from './message-budget.js';
import { ops } from './ops.js';

export interface PlayerIdentity {
  tenantId: string;
  projectId: string;
  playerId: string;
  sessionId: string;
}

/** Who holds a connection, with what, and its slot under the caps. */
export interface Holder {
  identity: PlayerIdentity;
  /** The credential it connected with, to check it again when a revocation may have been missed. */
  credential: string;
  /** When that credential expires (ms since the epoch). */
  credentialExpiresAt: number;
  lease: CapLease;
}

export class RealtimeConnection {
  /** Set by a pong (or any frame), cleared by each heartbeat ping: still false at the next ping means dead. */
  alive = true;
  readonly identity: PlayerIdentity;
  readonly credential: string;
  readonly credentialExpiresAt: number;
  readonly lease: CapLease;
  private readonly budget: MessageBudget;

  constructor(
    readonly socket: WebSocket,
    holder: Holder,
    policy: MessagePolicy,
  ) {
    this.identity = holder.identity;
    this.credential = holder.credential;
    this.credentialExpiresAt = holder.credentialExpiresAt;
    this.lease = holder.lease;
    this.budget = new MessageBudget(policy);
  }

  get open(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  send(frame: string): void {
    if (this.open) this.socket.send(frame);
  }

  close(code: number, reason: string): void {
    if (this.open) this.socket.close(code, reason);
  }

  receive(data: RawData, isBinary: boolean): void {
    this.alive = true;
    // Frames that arrive after we started closing (a revoked session, a shutdown) are not served.
    if (!this.open) return;
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
    const { request } = parsed;
    const handler = ops.get(request.op);
    if (!handler) {
      this.send(errorFrame('unknown-op', `Unknown op "${request.op}".`, request.id));
      return;
    }
    const reply = handler(request, { identity: this.identity });
    if (reply !== undefined) this.send(reply);
  }
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
