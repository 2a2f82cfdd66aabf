/**
 * Ports of FLEET_LOCAL_PORT_RANGE for local game servers. A port is handed out only after a quick probe
 * binds it for TCP and UDP (the echo server listens on both, on FLEET_LOCAL_HOST), so another program on the
 * host that holds a port costs a probe, not a crashed game server. The probe binds every interface: it then
 * fails when the port is held on any address, whichever one the game server will use. A port whose server failed to start
 * rests for a while before it is tried again.
 */
import dgram from 'node:dgram';
import net from 'node:net';

const REST_MS = 30_000;

export class PortPool {
  private readonly inUse = new Set<number>();
  private readonly resting = new Map<number, number>();
  private cursor: number;

  constructor(
    private readonly first: number,
    private readonly last: number,
    private readonly now: () => number = Date.now,
  ) {
    this.cursor = first;
  }

  get size(): number {
    return this.last - this.first + 1;
  }

  /** A free port, or undefined when every port of the range is taken. */
  async take(): Promise<number | undefined> {
    for (let tried = 0; tried < this.size; tried++) {
      const port = this.cursor;
      this.cursor = port >= this.last ? this.first : port + 1;
      if (this.inUse.has(port) || (this.resting.get(port) ?? 0) > this.now()) continue;
      this.inUse.add(port); // claimed before the probe's await, so two takers never get the same port
      if (await canBind(port)) {
        this.resting.delete(port);
        return port;
      }
      this.inUse.delete(port);
      this.resting.set(port, this.now() + REST_MS);
    }
    return undefined;
  }

  give(port: number): void {
    this.inUse.delete(port);
  }

  /** The server on this port failed to start (maybe the port was taken after the probe): rest it. */
  rest(port: number): void {
    this.inUse.delete(port);
    this.resting.set(port, this.now() + REST_MS);
  }
}

async function canBind(port: number): Promise<boolean> {
  const tcp = net.createServer();
  const udp = dgram.createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen({ port, host: '0.0.0.0', exclusive: true }, resolve);
    });
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind({ port, address: '0.0.0.0', exclusive: true }, resolve);
    });
    return true;
  } catch {
    return false;
  } finally {
    await new Promise<void>((resolve) => (tcp.listening ? tcp.close(() => resolve()) : resolve()));
    await new Promise<void>((resolve) => {
      try {
        udp.close(() => resolve());
      } catch {
        resolve(); // never bound
      }
    });
  }
}
