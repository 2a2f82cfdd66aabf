/**
 * An Upgrade request (WebSocket, h2c) answered with plain HTTP instead of 101: a refusal before the upgrade
 * (400, 401, 403, 429, 503), an Upgrade sent to a plain route, or an error raised before routing. Node has
 * handed its socket over (an 'upgrade' event) and no longer manages it, so this does what Node would:
 * - the answer says `Connection: close`. Node's default there is "keep-alive", while the socket was closed
 *   under it: a client that pools connections (an http.Agent with keepAlive, a proxy) put the socket back in
 *   its pool and sent its next request, typically the next upgrade, down a dead socket (a reset, not a 101);
 * - the socket is closed once the answer is out. Without that, such a socket stayed open for good and a
 *   graceful shutdown waited on it (found by the bad-input fuzzer's socket pass).
 * Upgraded sockets are hijacked: ws writes their 101, and their Fastify answer never finishes.
 */
import type { IncomingMessage } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';

const handled = Symbol('unusedUpgradeHandled');

type UpgradeRequest = IncomingMessage & { upgrade?: boolean; [handled]?: true };

/**
 * Called as a request is first seen (the app's onRequest hook) and by sendProblem (errors raised before
 * routing skip onRequest); once per request. A property check for every other request.
 */
export function closeUnusedUpgrade(request: FastifyRequest, reply: FastifyReply): void {
  // Node sets `upgrade` on every request it emitted as an 'upgrade' event (not in @types/node 20).
  const raw = request.raw as UpgradeRequest;
  if (raw.upgrade !== true || raw[handled]) return;
  raw[handled] = true;
  reply.header('connection', 'close');
  const socket = raw.socket;
  // 'finish': the whole answer is handed to the socket; destroySoon closes once it is written out.
  reply.raw.once('finish', () => {
    if (!socket.destroyed) socket.destroySoon();
  });
}
