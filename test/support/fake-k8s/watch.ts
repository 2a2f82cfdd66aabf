/**
 * Watch streams: newline-delimited `{"type","object"}` events over a chunked 200 response,
 * which is what @kubernetes/client-node's Watch (and Informer) read line by line.
 * Semantics copied from the apiserver:
 * - no resourceVersion (or "0"): synthetic ADDED for every current object, then live events;
 * - resourceVersion N: replay everything after N, then live events; if history before N was
 *   compacted, a single ERROR event carrying a 410 Expired Status, then the stream ends;
 * - with a label/field selector, an object entering the selection arrives as ADDED and one
 *   leaving it as DELETED, so a filtered cache stays correct.
 */
import type { ServerResponse } from 'node:http';
import { matchesSelector, type LabelSelector } from './selectors.js';
import { expired } from './status.js';
import type { GameServer, GameServerStore, StoreEvent } from './store.js';

export interface WatchRequest {
  namespace?: string;
  selector: LabelSelector;
  /** From a `metadata.name=` field selector. */
  name?: string;
  resourceVersion?: number;
  timeoutSeconds?: number;
}

export class WatchHub {
  private readonly open = new Set<ServerResponse>();

  constructor(private readonly store: GameServerStore) {}

  get count(): number {
    return this.open.size;
  }

  start(res: ServerResponse, req: WatchRequest): void {
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache' });
    res.flushHeaders();
    const send = (type: string, object: unknown) => {
      // An ended stream still sees events until its 'close' fires; writing then would throw.
      if (!res.writableEnded) res.write(JSON.stringify({ type, object }) + '\n');
    };
    const selected = (gs: GameServer) =>
      (req.namespace === undefined || gs.metadata.namespace === req.namespace) &&
      (req.name === undefined || gs.metadata.name === req.name) &&
      matchesSelector(req.selector, gs.metadata.labels);
    const deliver = (e: StoreEvent) => {
      const now = selected(e.object);
      if (e.type !== 'MODIFIED') return void (now && send(e.type, e.object));
      const before = e.previous !== undefined && selected(e.previous);
      if (now) send(before ? 'MODIFIED' : 'ADDED', e.object);
      else if (before) send('DELETED', e.object);
    };

    if (req.resourceVersion === undefined || req.resourceVersion === 0) {
      for (const gs of this.store.list(req.namespace)) if (selected(gs)) send('ADDED', gs);
    } else {
      const missed = this.store.since(req.resourceVersion);
      if (!missed) {
        send('ERROR', expired(req.resourceVersion, this.store.oldestResumable));
        res.end();
        return;
      }
      missed.forEach(deliver);
    }
    // Replay and subscribe happen in one synchronous step, so no event can fall in between.
    const unsubscribe = this.store.subscribe(deliver);
    this.open.add(res);
    const timer = req.timeoutSeconds ? setTimeout(() => res.end(), req.timeoutSeconds * 1000) : undefined;
    res.on('close', () => {
      unsubscribe();
      clearTimeout(timer);
      this.open.delete(res);
    });
  }

  /** Ends every open stream cleanly, as an apiserver does on its watch timeout or restart. */
  endAll(): void {
    for (const res of this.open) res.end();
    this.open.clear();
  }
}
