/**
 * One realtime session: the numbering of its events (`seq`), the topics it listens to, what modules keep for
 * it, and the recent events a resume replays. A session is attached to one connection at a time, or detached
 * (its connection ended without a goodbye): detached, it keeps its topics and numbers and buffers its events
 * until it is resumed or its window ends. It moves between nodes as a SessionSnapshot.
 *
 * Ordering: an op's reply goes out before any event the op causes. While an op is being served (or a
 * connection is starting: welcome, replay, what session listeners send), events wait in a queue and are
 * numbered when they leave it, so `seq` always counts what the client was sent, in order.
 */
import { randomBytes } from 'node:crypto';
import type { RealtimeEvent, SessionRef } from './api.js';
import { eventFrame } from './envelope.js';

export interface PlayerIdentity {
  tenantId: string;
  projectId: string;
  playerId: string;
  sessionId: string;
}

/** Where a session's frames go while it is attached. */
export interface SessionSink {
  readonly id: string;
  readonly open: boolean;
  send(frame: string): void;
  close(code: number, reason: string): void;
}

export interface BufferLimits {
  events: number;
  bytes: number;
}

/** An event as sent: its number, its frame, and the fan-out message it came from (to drop a duplicate). */
interface SentEvent {
  seq: number;
  frame: string;
  origin: string | undefined;
}

/** Everything a session is, as it travels to another node (JSON). */
export interface SessionSnapshot {
  key: string;
  identity: PlayerIdentity;
  seq: number;
  topics: string[];
  state: Record<string, unknown>;
  buffer: SentEvent[];
  /** The buffer lost events (overflow): a resume from before `firstSeq` cannot be served. */
  firstSeq: number;
}

export type EventFilter = (session: SessionRef, event: RealtimeEvent) => boolean;

/** What every session of a node shares. */
export interface SessionContext {
  limits: BufferLimits;
  filters: readonly EventFilter[];
  /** Counts each event sent (the delivered-events metric, and usage's messages meter). */
  onEventSent: (identity: PlayerIdentity) => void;
  /** A signal for the modules (an event whose op starts with SIGNAL_OP), never numbered nor sent. */
  onSignal: (session: SessionRef, event: RealtimeEvent) => void;
}

/** The op of the events that carry signals between modules on the players' topics. */
export const SIGNAL_OP = '$signal';

export class RealtimeSession {
  readonly key: string;
  readonly identity: PlayerIdentity;
  readonly topics: Set<string>;
  readonly state: Map<string, unknown>;
  private seq: number;
  private buffer: SentEvent[];
  private bufferBytes: number;
  /** The seq of the oldest event still buffered, or seq + 1 when none is. */
  private firstSeq: number;
  private sink: SessionSink | undefined;
  private holds = 0;
  /** Changes when the holds are reset, so a stale release (an op of a replaced connection) does nothing. */
  private generation = 0;
  private readonly held: { event: RealtimeEvent; origin: string | undefined }[] = [];
  private refValue: SessionRef;
  /** Set once the session has ended: nothing is numbered or sent any more. */
  ended = false;

  constructor(
    identity: PlayerIdentity,
    private readonly context: SessionContext,
    from?: SessionSnapshot,
  ) {
    this.key = from?.key ?? randomBytes(12).toString('hex');
    this.identity = identity;
    this.seq = from?.seq ?? 0;
    this.topics = new Set(from?.topics ?? []);
    this.state = new Map(Object.entries(from?.state ?? {}));
    this.buffer = from?.buffer ?? [];
    this.bufferBytes = this.buffer.reduce((sum, sent) => sum + sent.frame.length, 0);
    this.firstSeq = from?.firstSeq ?? this.seq + 1;
    this.refValue = this.makeRef('');
  }

  /** The session as modules see it; `connectionId` is the attached (or last) connection's. */
  get ref(): SessionRef {
    return this.refValue;
  }

  get lastSeq(): number {
    return this.seq;
  }

  get attached(): SessionSink | undefined {
    return this.sink;
  }

  /**
   * Attaches a connection (detach the previous one first); events wait until the returned release is
   * called, after its welcome and replay.
   */
  attach(sink: SessionSink): () => void {
    this.flushHeld();
    this.sink = sink;
    this.refValue = this.makeRef(sink.id);
    return this.hold();
  }

  /** The connection ended: events are numbered and buffered, for a resume. */
  detach(sink: SessionSink): void {
    if (this.sink !== sink) return;
    this.sink = undefined;
  }

  /** Events wait until the returned function is called (once; after a reset it does nothing). */
  hold(): () => void {
    this.holds++;
    const generation = this.generation;
    let released = false;
    return () => {
      if (released || generation !== this.generation) return;
      released = true;
      this.release();
    };
  }

  private release(): void {
    if (--this.holds > 0) return;
    while (this.holds === 0 && this.held.length > 0) {
      const next = this.held.shift()!;
      this.emit(next.event, next.origin);
    }
  }

  /** An event for this session: numbered and sent now, or queued behind an op's reply or a start. */
  deliver(event: RealtimeEvent, origin?: string): void {
    if (this.ended) return;
    if (event.op === SIGNAL_OP) {
      this.context.onSignal(this.refValue, event);
      return;
    }
    for (const filter of this.context.filters) if (!filter(this.refValue, event)) return;
    if (this.holds > 0 && this.sink) this.held.push({ event, origin });
    else this.emit(event, origin);
  }

  /** Sends an event during a start (after welcome), ahead of anything queued. */
  emitNow(event: RealtimeEvent): void {
    this.emit(event, undefined);
  }

  private emit(event: RealtimeEvent, origin: string | undefined): void {
    if (this.ended) return;
    const seq = ++this.seq;
    const frame = eventFrame(seq, event);
    this.remember({ seq, frame, origin });
    if (this.sink?.open) {
      this.sink.send(frame);
      this.context.onEventSent(this.identity);
    }
  }

  private remember(sent: SentEvent): void {
    const limits = this.context.limits;
    if (limits.events === 0) {
      this.firstSeq = sent.seq + 1;
      return;
    }
    this.buffer.push(sent);
    this.bufferBytes += sent.frame.length;
    while (this.buffer.length > limits.events || (this.bufferBytes > limits.bytes && this.buffer.length > 0)) {
      const dropped = this.buffer.shift()!;
      this.bufferBytes -= dropped.frame.length;
      this.firstSeq = dropped.seq + 1;
    }
  }

  /** Numbers what waits behind an op (the session is leaving this node, whose ops will answer nobody). */
  flushHeld(): void {
    this.generation++;
    this.holds = 1;
    this.release();
  }

  /** The frames after `lastSeq`, or undefined when some of them are no longer buffered (or never were). */
  framesAfter(lastSeq: number): string[] | undefined {
    if (lastSeq > this.seq || lastSeq + 1 < this.firstSeq) return undefined;
    return this.buffer.filter((sent) => sent.seq > lastSeq).map((sent) => sent.frame);
  }

  /** Whether an event from this fan-out message was already numbered here (a handover's overlap). */
  hasOrigin(origin: string): boolean {
    return this.buffer.some((sent) => sent.origin === origin);
  }

  snapshot(): SessionSnapshot {
    return {
      key: this.key,
      identity: this.identity,
      seq: this.seq,
      topics: [...this.topics],
      state: Object.fromEntries(this.state),
      buffer: this.buffer,
      firstSeq: this.firstSeq,
    };
  }

  private makeRef(connectionId: string): SessionRef {
    return Object.freeze({ ...this.identity, connectionId, key: this.key });
  }
}
