/**
 * The baseline for bench/realtime.ts: a bare `ws` server on node:http that accepts every upgrade and holds
 * the sockets idle (no auth, no caps, no heartbeat). Prints {"port": N} once listening.
 */
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';

const server = createServer((_request, response) => response.writeHead(426).end());
const wss = new WebSocketServer({ server, clientTracking: false, perMessageDeflate: false });
wss.on('connection', (socket) => socket.on('error', () => undefined));
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 }) + '\n');
});
process.on('SIGTERM', () => process.exit(0));
