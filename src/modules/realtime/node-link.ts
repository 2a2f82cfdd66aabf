/**
 * Requests between realtime nodes through the fan-out backend: each node listens on a topic of its own and
 * answers there. Used to move a session from the node that holds it to the node a client resumed on. A node
 * that does not answer in time (crashed, unreachable) is reported as such, never waited on forever.
 */
import { randomBytes } from 'node:crypto';
import type { Fanout } from '../../internal/fanout/fanout.js';
import type { Logger } from '../../internal/telemetry/logger.js';

export type LinkMessage = Record<string, unknown>;
type Handler = (request: LinkMessage) => Promise<LinkMessage>;

/** Between attempts to subscribe while the node starts. */
const RETRY_MS = 250;

interface Frame {
  rid: string;
  from: string;
  reply?: boolean;
  body: LinkMessage;
}

export class NodeLink {
  readonly nodeId = randomBytes(8).toString('hex');
  private readonly pending = new Map<string, (body: LinkMessage) => void>();
  private handler: Handler | undefined;
  private unsubscribe: (() => Promise<void>) | undefined;
  private closed = false;

  constructor(
    private readonly fanout: Fanout,
    private readonly logger: Logger,
  ) {}

  /**
   * Listens on this node's topic, trying again every RETRY_MS while the fan-out cannot subscribe yet (on
   * Redis it waits for the deployment namespace, which needs the database); resolves once it listens.
   */
  async start(handler: Handler): Promise<void> {
    this.handler = handler;
    for (let attempt = 1; !this.closed; attempt++) {
      try {
        this.unsubscribe = await this.fanout.subscribe(topicOf(this.nodeId), (message) => this.receive(message));
        return;
      } catch (error) {
        // Quiet while the node starts; a node that cannot listen for long is worth a warning.
        if (attempt % 20 === 0) this.logger.warn({ err: error, attempts: attempt }, 'realtime: the node link cannot subscribe yet');
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    }
  }

  /** Sends a request to a node; undefined when it has not answered within `timeoutMs`. */
  async request(node: string, body: LinkMessage, timeoutMs: number): Promise<LinkMessage | undefined> {
    const rid = randomBytes(8).toString('hex');
    const answered = new Promise<LinkMessage | undefined>((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(rid);
        resolve(undefined);
      }, timeoutMs);
      this.pending.set(rid, (reply) => {
        clearTimeout(timer);
        this.pending.delete(rid);
        resolve(reply);
      });
    });
    try {
      await this.fanout.publish(topicOf(node), JSON.stringify({ rid, from: this.nodeId, body } satisfies Frame));
    } catch (error) {
      this.pending.get(rid)?.({ error: 'unreachable' });
      this.logger.warn({ err: error }, 'realtime: could not reach another node');
    }
    return answered;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const resolve of this.pending.values()) resolve({ error: 'closing' });
    await this.unsubscribe?.();
  }

  private receive(message: string): void {
    let frame: Frame;
    try {
      frame = JSON.parse(message) as Frame;
    } catch {
      return;
    }
    if (frame.reply) {
      this.pending.get(frame.rid)?.(frame.body);
      return;
    }
    const handler = this.handler;
    if (!handler) return;
    void handler(frame.body)
      .catch((error: unknown) => {
        this.logger.warn({ err: error }, 'realtime: a request from another node failed');
        return { error: 'failed' };
      })
      .then((body) => this.fanout.publish(topicOf(frame.from), JSON.stringify({ rid: frame.rid, from: this.nodeId, reply: true, body } satisfies Frame)))
      .catch((error: unknown) => this.logger.warn({ err: error }, 'realtime: could not answer another node'));
  }
}

function topicOf(node: string): string {
  return `rt:node:${node}`;
}
