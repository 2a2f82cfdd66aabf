/**
 * The soak's HTTP client: node:http over a small keep-alive pool (lighter on the shared CPU than fetch),
 * every call timed and checked against the statuses its caller expects. Anything else is recorded as an
 * error of that kind: an unexpected status (any 5xx included), a socket error, a timeout.
 */
import { Agent, request } from 'node:http';
import type { Recorder } from './recorder.js';

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface CallOptions {
  credential?: string;
  /** JSON-encoded unless it is already a Buffer (storage bytes). */
  body?: unknown;
  headers?: Record<string, string>;
}

/** A request slower than this is an error (and is abandoned). */
const TIMEOUT_MS = 30_000;

export class HttpClient {
  private readonly agent: Agent;

  constructor(
    private readonly baseUrl: URL,
    private readonly recorder: Recorder,
    maxSockets: number,
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets });
  }

  /** One request; undefined (after recording the error) unless its status is one of `expected`. */
  async call(kind: string, method: string, path: string, expected: readonly number[], options: CallOptions = {}): Promise<Answer | undefined> {
    const started = performance.now();
    let answer: Answer;
    try {
      answer = await this.send(method, path, options);
    } catch (error) {
      this.recorder.fail(kind, `socket: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, `${method} ${path}`);
      return undefined;
    }
    this.recorder.done(kind, performance.now() - started);
    if (!expected.includes(answer.status)) {
      this.recorder.fail(kind, `HTTP ${answer.status}`, `${method} ${path} → ${answer.body}`);
      return undefined;
    }
    return answer;
  }

  /** Calls that answer JSON: the parsed body, or undefined (recorded) when the status or the body is wrong. */
  async json<T>(kind: string, method: string, path: string, expected: readonly number[], options: CallOptions = {}): Promise<T | undefined> {
    const answer = await this.call(kind, method, path, expected, options);
    if (!answer) return undefined;
    try {
      return JSON.parse(answer.body) as T;
    } catch {
      this.recorder.fail(kind, 'body is not JSON', answer.body);
      return undefined;
    }
  }

  close(): void {
    this.agent.destroy();
  }

  private send(method: string, path: string, options: CallOptions): Promise<Answer> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.credential !== undefined) headers.authorization = `Bearer ${options.credential}`;
    let payload: Buffer | undefined;
    if (Buffer.isBuffer(options.body)) payload = options.body;
    else if (options.body !== undefined) {
      payload = Buffer.from(JSON.stringify(options.body));
      headers['content-type'] ??= 'application/json';
    }
    if (payload) headers['content-length'] = String(payload.length);
    return new Promise((resolve, reject) => {
      const req = request(new URL(path, this.baseUrl), { method, headers, agent: this.agent, timeout: TIMEOUT_MS }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.once('error', reject);
        res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      });
      req.once('error', reject);
      req.once('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
      req.end(payload);
    });
  }
}
