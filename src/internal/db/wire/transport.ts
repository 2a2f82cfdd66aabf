/**
 * The socket under a connection: TCP or a Unix socket, then TLS as sslmode asks (libpq's rules: the client
 * sends SSLRequest, the server answers 'S' to go on in TLS or 'N' to stay in plain text). The same rules serve
 * the short connection that carries a CancelRequest, which has to reach the server the way sessions do.
 */
import net from 'node:net';
import tls from 'node:tls';
import { tlsOptions, type ConnectionTarget } from './connection-options.js';
import { FrameWriter } from './frames.js';
import { socketClosedError } from './server-error.js';

const KEEPALIVE_DELAY_MS = 60_000;

/**
 * Connects and negotiates TLS. `track` hears of each socket as soon as it exists, so that the caller's own
 * deadline can destroy it (which rejects this promise).
 */
export async function openTransport(target: ConnectionTarget, track: (socket: net.Socket) => void): Promise<net.Socket> {
  const socket = await openSocket(target, track);
  if (target.sslMode === 'disable') return socket;
  const secured = await negotiateTls(socket, target);
  track(secured);
  return secured;
}

function openSocket(target: ConnectionTarget, track: (socket: net.Socket) => void): Promise<net.Socket> {
  const socket = target.socketPath ? net.connect(target.socketPath) : net.connect(target.port, target.host);
  track(socket);
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.once('close', () => reject(socketClosedError()));
    socket.once('connect', () => {
      socket.removeListener('error', reject);
      socket.setNoDelay(true);
      socket.setKeepAlive(true, KEEPALIVE_DELAY_MS);
      resolve(socket);
    });
  });
}

function negotiateTls(socket: net.Socket, target: ConnectionTarget): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    socket.once('data', (answer: Buffer) => {
      socket.removeListener('error', reject);
      // One byte and nothing after it: bytes behind the answer would have come from before the TLS handshake,
      // where anyone on the path could have put them (the reason for CVE-2021-23214 in PostgreSQL's libpq).
      if (answer.length !== 1) {
        reject(Object.assign(new Error('the server answered the TLS request with more than one byte'), { code: '08P01' }));
      } else if (answer[0] === 0x53 /* 'S' */) {
        const secured = tls.connect({ socket, ...tlsOptions(target) });
        secured.once('secureConnect', () => {
          secured.removeListener('error', reject);
          resolve(secured);
        });
        secured.once('error', reject);
      } else if (target.sslMode === 'prefer') {
        resolve(socket);
      } else {
        reject(Object.assign(new Error(`the server does not accept TLS connections (sslmode=${target.sslMode})`), { code: '08P01' }));
      }
    });
    socket.once('error', reject);
    socket.once('close', () => reject(socketClosedError()));
    socket.write(new FrameWriter().sslRequest().take());
  });
}

export interface BackendKey {
  processId: number;
  secretKey: Buffer;
}

/**
 * Asks the server, on a connection of its own, to cancel what the session with this key is running. Best
 * effort and bounded: resolves (never rejects) once the server has closed that connection, or after
 * timeoutMs, whichever comes first. The server answers nothing; the cancelled statement fails with 57014.
 */
export function sendCancelRequest(target: ConnectionTarget, key: BackendKey, timeoutMs: number): Promise<void> {
  const sockets: net.Socket[] = [];
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    timer.unref();
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    openTransport(target, (socket) => sockets.push(socket)).then(
      (socket) => {
        socket.once('close', done);
        socket.on('error', done);
        socket.write(new FrameWriter().cancelRequest(key.processId, key.secretKey).take());
      },
      done,
    );
  }).finally(() => {
    for (const socket of sockets) socket.destroy();
  });
}
