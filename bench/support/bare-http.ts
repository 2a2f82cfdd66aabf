/**
 * The baseline server: bare node:http answering GET /v1/healthz with the same body ggscale sends, nothing
 * else (no router, no validation, no logging, no hooks). The benchmarks bundle it with esbuild and start it
 * with plain `node`, exactly as ggscale's dist/cli.js is built and started, so start-up compares alike.
 */
import { createServer } from 'node:http';

const body = JSON.stringify({ status: 'ok', version: 'v1', commit: 'unknown' });
const length = String(Buffer.byteLength(body));

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/v1/healthz') {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': length });
    res.end(body);
    return;
  }
  res.writeHead(404, { 'content-length': '0' });
  res.end();
});

server.listen(Number(process.env.PORT ?? 8080), process.env.HOST ?? '127.0.0.1');

process.once('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
