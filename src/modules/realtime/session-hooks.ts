/**
 * What other modules hook onto sessions: event filters (per receiving session), signals (messages between
 * modules carried on the players' topics, never sent to clients) and session-end listeners. A listener that
 * fails is logged and never stops the others.
 */
import type { Logger } from '../../internal/telemetry/logger.js';
import type { RealtimeEvent, RealtimeSignal, SessionRef } from './api.js';
import type { EventFilter } from './session.js';

type SignalListener = (session: SessionRef, signal: RealtimeSignal) => void;
type EndListener = (session: SessionRef) => Promise<void> | void;

export class SessionHooks {
  readonly filters: EventFilter[] = [];
  private readonly signals = new Map<string, SignalListener[]>();
  private readonly endListeners: EndListener[] = [];

  constructor(private readonly logger: Logger) {}

  onSignal(type: string, listener: SignalListener): void {
    const list = this.signals.get(type) ?? [];
    list.push(listener);
    this.signals.set(type, list);
  }

  onEnd(listener: EndListener): void {
    this.endListeners.push(listener);
  }

  signal(session: SessionRef, event: RealtimeEvent): void {
    const signal = event.signal as RealtimeSignal | undefined;
    if (!signal || typeof signal.type !== 'string') return;
    for (const listener of this.signals.get(signal.type) ?? []) {
      try {
        listener(session, signal);
      } catch (error) {
        this.logger.warn({ err: error, signal: signal.type }, 'realtime: a signal listener failed');
      }
    }
  }

  async ended(session: SessionRef): Promise<void> {
    for (const listener of this.endListeners) {
      try {
        await listener(session);
      } catch (error) {
        this.logger.warn({ err: error }, 'realtime: a session-end listener failed');
      }
    }
  }
}
