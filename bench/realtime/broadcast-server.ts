/**
 * The baseline of the room, presence and send sections: a bare `ws` server on node:http that sends every
 * text message it receives, unchanged, to all its clients (the sender's included: with one client it is an
 * echo). No auth, no parsing, no storage, no caps. Prints {"port": N} once listening; stops on SIGTERM.
 */
import { createServer } from 'node:http';
import { WebSocketServer, WebSocket } from 'ws';

const server = createServer((_request, response) => response.writeHead(426).end());
const wss = new WebSocketServer({ server, perMessageDeflate: false });
wss.on('connection', (socket) => {
  socket.on('error', () => undefined);
  socket.on('message', (data, isBinary) => {
    for (const client of wss.clients) if (client.readyState === WebSocket.OPEN) client.send(data, { binary: isBinary });
  });
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 }) + '\n');
});
process.on('SIGTERM', () => process.exit(0));
