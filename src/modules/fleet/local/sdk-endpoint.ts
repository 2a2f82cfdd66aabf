/**
 * The Agones SDK REST gateway for one local game server: what the SDK sidecar is to a pod on Agones. Each
 * server gets its own endpoint on 127.0.0.1 (AGONES_SDK_HTTP_PORT), as each pod gets its own sidecar, so a
 * call needs no identification. Paths and bodies follow the gateway (snake_case JSON).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { GameServerView } from '../types.js';

export interface SdkHandlers {
  ready(): void;
  health(): void;
  allocate(): void;
  shutdown(): void;
  view(): GameServerView;
  /** Stored as agones.dev/sdk-<key>, as Agones does. */
  setLabel(key: string, value: string): void;
  setAnnotation(key: string, value: string): void;
  /** The keys match tokens verify with (GGSCALE_JWKS_URL of a local game server); undefined: not served. */
  jwks?(): Promise<unknown>;
}

/** Not part of Agones' gateway: where a local game server fetches the JWKS that verifies match tokens. */
export const SDK_JWKS_PATH = '/ggscale/jwks.json';

export interface SdkEndpoint {
  port: number;
  close(): Promise<void>;
}

const MAX_BODY = 64 * 1024;
const SDK_KEY = /^([A-Za-z0-9][-A-Za-z0-9_.]{0,50})?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;

class BadRequest extends Error {}

export async function startSdkEndpoint(handlers: SdkHandlers): Promise<SdkEndpoint> {
  const server = http.createServer((req, res) => {
    void answer(req, handlers).then(
      ({ status, body }) => send(res, status, body),
      (error: unknown) => send(res, error instanceof BadRequest ? 400 : 500, { error: (error as Error).message }),
    );
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function answer(req: http.IncomingMessage, sdk: SdkHandlers): Promise<{ status: number; body: unknown }> {
  const route = `${req.method ?? ''} ${(req.url ?? '').split('?')[0]}`;
  const body = await readJson(req);
  switch (route) {
    case 'POST /ready':
      sdk.ready();
      return { status: 200, body: {} };
    case 'POST /health':
      sdk.health();
      return { status: 200, body: {} };
    case 'POST /allocate':
      sdk.allocate();
      return { status: 200, body: {} };
    case 'POST /shutdown':
      sdk.shutdown();
      return { status: 200, body: {} };
    case 'GET /gameserver':
      return { status: 200, body: gatewayView(sdk.view()) };
    case 'PUT /metadata/label': {
      const { key, value } = keyValue(body);
      if (!LABEL_VALUE.test(value)) throw new BadRequest('a label value must be at most 63 letters, digits, "-", "_" or "."');
      sdk.setLabel(key, value);
      return { status: 200, body: {} };
    }
    case 'PUT /metadata/annotation': {
      const { key, value } = keyValue(body);
      if (value.length > 4096) throw new BadRequest('an annotation value is at most 4096 characters');
      sdk.setAnnotation(key, value);
      return { status: 200, body: {} };
    }
    case `GET ${SDK_JWKS_PATH}`:
      if (sdk.jwks) return { status: 200, body: await sdk.jwks() };
      return { status: 404, body: { error: 'this local fleet serves no JWKS' } };
    default:
      return { status: 404, body: { error: `${route} is not part of the SDK served by ggscale's local fleet` } };
  }
}

function keyValue(body: unknown): { key: string; value: string } {
  const { key, value } = (body ?? {}) as { key?: unknown; value?: unknown };
  if (typeof key !== 'string' || !SDK_KEY.test(key)) throw new BadRequest('key must be 1-52 letters, digits, "-", "_" or "."');
  if (typeof value !== 'string') throw new BadRequest('value must be a string');
  return { key, value };
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  let raw = '';
  for await (const chunk of req) {
    raw += String(chunk);
    if (raw.length > MAX_BODY) throw new BadRequest('the body is too large');
  }
  if (raw.trim() === '') return {};
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    throw new BadRequest('the body is not JSON');
  }
}

/** The gateway's GameServer shape (proto names in snake_case). */
function gatewayView(view: GameServerView): unknown {
  return {
    object_meta: { name: view.name, namespace: 'default', labels: view.labels, annotations: view.annotations },
    status: { state: view.state, address: view.address, ports: view.ports.map(({ name, port }) => ({ name, port })) },
  };
}
