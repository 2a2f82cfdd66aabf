/**
 * A small client for the Agones SDK sidecar's REST gateway (default port 9358, set through
 * AGONES_SDK_HTTP_PORT). It only listens on localhost and needs no auth. Every call has a
 * short timeout: the sidecar is local, so a slow answer means it is not there (it may start
 * after the game server), and callers decide whether to retry.
 */

export interface AgonesSdkClientOptions {
  port: number;
  host?: string;
  /** Per-call timeout; default 2000 ms. */
  timeoutMs?: number;
}

export interface SdkGameServerPort {
  name: string;
  port: number;
}

/** The fields of the SDK's GameServer view that ggscale uses, normalised. */
export interface SdkGameServer {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: string;
  address: string;
  ports: SdkGameServerPort[];
  /** The body as the sidecar sent it. */
  raw: unknown;
}

/** Thrown for any failed SDK call; `call` names it (ready, health, getGameServer, ...). */
export class AgonesSdkError extends Error {
  constructor(
    readonly call: string,
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(`Agones SDK ${call} failed: ${message}`, options);
    this.name = 'AgonesSdkError';
  }
}

export class AgonesSdkClient {
  readonly baseUrl: string;
  private readonly timeoutMs: number;

  constructor(opts: AgonesSdkClientOptions) {
    const host = opts.host ?? '127.0.0.1';
    this.baseUrl = `http://${host.includes(':') ? `[${host}]` : host}:${opts.port}`;
    this.timeoutMs = opts.timeoutMs ?? 2000;
  }

  /** Tells Agones the server can take players (GameServer -> Ready). */
  async ready(): Promise<void> {
    await this.call('ready', 'POST', '/ready', {});
  }

  /** Health ping; Agones marks the server Unhealthy when these stop. */
  async health(): Promise<void> {
    await this.call('health', 'POST', '/health', {});
  }

  /** Self-allocation (GameServer -> Allocated). */
  async allocate(): Promise<void> {
    await this.call('allocate', 'POST', '/allocate', {});
  }

  /** Asks Agones to shut this GameServer down; the pod gets SIGTERM afterwards. */
  async shutdown(): Promise<void> {
    await this.call('shutdown', 'POST', '/shutdown', {});
  }

  async getGameServer(): Promise<SdkGameServer> {
    return normaliseGameServer(await this.call('getGameServer', 'GET', '/gameserver'));
  }

  /** Agones stores it as the label `agones.dev/sdk-<key>`. */
  async setLabel(key: string, value: string): Promise<void> {
    await this.call('setLabel', 'PUT', '/metadata/label', { key, value });
  }

  /** Agones stores it as the annotation `agones.dev/sdk-<key>`. */
  async setAnnotation(key: string, value: string): Promise<void> {
    await this.call('setAnnotation', 'PUT', '/metadata/annotation', { key, value });
  }

  private async call(name: string, method: string, path: string, body?: unknown): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(this.baseUrl + path, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new AgonesSdkError(name, `${method} ${path}: ${describe(err)}`, undefined, { cause: err });
    }
    const text = await res.text().catch(() => '');
    if (!res.ok) {
      throw new AgonesSdkError(name, `${method} ${path}: HTTP ${res.status} ${text.slice(0, 200)}`, res.status);
    }
    if (text === '') return {};
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw new AgonesSdkError(name, `${method} ${path}: response is not JSON`, res.status, { cause: err });
    }
  }
}

/** fetch hides the useful part ("ECONNREFUSED", "timeout") in `cause`; surface it. */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? ` (${(err.cause as NodeJS.ErrnoException).code ?? err.cause.message})` : '';
  return `${err.message}${cause}`;
}

function record(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(record(v))) if (typeof val === 'string') out[k] = val;
  return out;
}

/**
 * The gateway documents snake_case proto names (`object_meta`); accept camelCase too so a
 * gateway configured the other way does not silently yield empty names.
 */
function normaliseGameServer(raw: unknown): SdkGameServer {
  const top = record(raw);
  const meta = record(top.object_meta ?? top.objectMeta);
  const status = record(top.status);
  const ports = Array.isArray(status.ports) ? status.ports : [];
  return {
    name: typeof meta.name === 'string' ? meta.name : '',
    namespace: typeof meta.namespace === 'string' ? meta.namespace : '',
    labels: stringMap(meta.labels),
    annotations: stringMap(meta.annotations),
    state: typeof status.state === 'string' ? status.state : '',
    address: typeof status.address === 'string' ? status.address : '',
    ports: ports.map((p) => {
      const r = record(p);
      return { name: typeof r.name === 'string' ? r.name : '', port: Number(r.port) };
    }),
    raw,
  };
}
