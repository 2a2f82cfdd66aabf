/**
 * Server-side keep-alive: one timer for all sockets (not one per socket). Each tick terminates the sockets
 * that have not answered the previous tick's ping (nor sent anything since), then pings the rest. A dead peer
 * (gone without a FIN, or a client that never answers pings) is therefore cut within two periods.
 */
import type { RealtimeConnection } from './connection.js';

export class Heartbeat {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly periodMs: number,
    private readonly connections: () => Iterable<RealtimeConnection>,
    private readonly onDead: (connection: RealtimeConnection) => void,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => this.tick(), this.periodMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    for (const connection of this.connections()) {
      if (!connection.alive) {
        this.onDead(connection);
        connection.socket.terminate();
        continue;
      }
      connection.alive = false;
      if (!connection.open) continue;
      try {
        connection.socket.ping();
      } catch {
        // Not open any more: its close handler removes it.
      }
    }
  }
}
