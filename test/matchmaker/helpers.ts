/** What the matchmaker suites share: JSON calls with a credential, sockets they close, and waiting for an event. */
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { bearer, type TestPlayer } from '../support/tenancy.js';
import { Client, connect, realtimeUrl } from '../realtime/helpers.js';

export type Json = Record<string, unknown>;
type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

/** `call(method, url, credential, body?)` against the app. */
export function caller(app: () => FastifyInstance): (method: Method, url: string, credential: string, payload?: unknown) => Promise<LightMyRequestResponse> {
  return (method, url, credential, payload) =>
    app().inject({ method, url, headers: bearer(credential), ...(payload === undefined ? {} : { payload: payload as object }) });
}

/** Opens players' sockets on `base()`, remembered in `clients` so the suite closes them. */
export function sockets(base: () => string, clients: Client[]): (player: TestPlayer) => Promise<Client> {
  return async (player) => {
    const client = await connect(realtimeUrl(base(), player.accessToken));
    clients.push(client);
    return client;
  };
}

/** Waits for the next frame with this op that `match` accepts (other frames are skipped). */
export async function frameOf(client: Client, op: string, match: (frame: Json) => boolean = () => true, deadlineMs = 5_000): Promise<Json> {
  for (;;) {
    const frame = await client.next(deadlineMs);
    if (frame.op === op && match(frame)) return frame;
  }
}
