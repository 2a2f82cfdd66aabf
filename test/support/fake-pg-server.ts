/**
 * A scripted stand-in for a PostgreSQL server, speaking just enough of the backend protocol (3.0) to drive our
 * wire client (src/internal/db/wire/) through cases a real server will not produce on demand: answers split
 * byte by byte, COPY responses, a forged SCRAM signature, a server that freezes, CancelRequests to inspect.
 *
 * Each test passes a session script: it gets one FakePgClient per connection after the start-up message (an
 * SSLRequest is refused with 'N'; CancelRequests are recorded, never handed to the script), logs the client in
 * (acceptLogin) and then answers as it likes, usually with serve(). Tests against real PostgreSQL behaviour
 * belong to the real server: this is for the protocol's edges.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';

const SSL_REQUEST_CODE = 80877103;
const CANCEL_REQUEST_CODE = 80877102;
const TEXT_OID = 25;

export interface FrontendMessage {
  /** The type byte as a letter ('P', 'B', 'E', 'S', ...). */
  type: string;
  body: Buffer;
}

export interface CancelRequestSeen {
  processId: number;
  secretKey: number;
  /** Whether the cancel connection asked for TLS first (as the main connection does). */
  sslRequested: boolean;
}

/** What serve() answers for one statement. */
export interface Answer {
  columns?: string[];
  rows?: (string | null)[][];
  error?: { code: string; message: string; severity?: string };
  /** Answers the Execute with CopyInResponse ('G'), CopyOutResponse ('H') or CopyBothResponse ('W'). */
  copy?: 'G' | 'H' | 'W';
}

/** Called with the statement's text: at Describe (params undefined) for its columns, at Execute for its rows. */
export type Answerer = (text: string, params: (string | null)[] | undefined) => Answer;

/** Backend messages. */
export const backend = {
  message(type: string, ...parts: (Buffer | string | number)[]): Buffer {
    const body = Buffer.concat(parts.map((part) => (typeof part === 'number' ? int32(part) : typeof part === 'string' ? cstring(part) : part)));
    const header = Buffer.alloc(5);
    header[0] = type.charCodeAt(0);
    header.writeInt32BE(body.length + 4, 1);
    return Buffer.concat([header, body]);
  },
  authentication: (kind: number, data: Buffer = Buffer.alloc(0)) => backend.message('R', kind, data),
  backendKey: (processId: number, secretKey: number) => backend.message('K', processId, secretKey),
  ready: (status: 'I' | 'T' | 'E' = 'I') => backend.message('Z', Buffer.from(status)),
  parameterStatus: (name: string, value: string) => backend.message('S', name, value),
  rowDescription(columns: string[]): Buffer {
    const fields = columns.map((name) => {
      const tail = Buffer.alloc(18);
      tail.writeInt32BE(TEXT_OID, 6); // table oid (4) and column number (2) are 0
      tail.writeInt16BE(-1, 10);
      tail.writeInt32BE(-1, 12);
      return Buffer.concat([cstring(name), tail]);
    });
    return backend.message('T', int16(columns.length), ...fields);
  },
  dataRow(values: (string | null)[]): Buffer {
    const fields = values.map((value) => (value === null ? int32(-1) : Buffer.concat([int32(Buffer.byteLength(value)), Buffer.from(value)])));
    return backend.message('D', int16(values.length), ...fields);
  },
  commandComplete: (tag: string) => backend.message('C', tag),
  error(code: string, message: string, severity = 'ERROR'): Buffer {
    return backend.message('E', `S${severity}`, `V${severity}`, `C${code}`, `M${message}`, Buffer.alloc(1));
  },
  copyResponse: (type: 'G' | 'H' | 'W') => backend.message(type, Buffer.from([0]), int16(0)),
};

function int32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeInt32BE(value);
  return buffer;
}

function int16(value: number): Buffer {
  const buffer = Buffer.alloc(2);
  buffer.writeInt16BE(value);
  return buffer;
}

function cstring(value: string): Buffer {
  return Buffer.concat([Buffer.from(value), Buffer.alloc(1)]);
}

/** One client connection, from the server's side. */
export class FakePgClient {
  /** Start-up parameters (user, database, ...). */
  parameters: Record<string, string> = {};
  /** Statement name → text, from the Parse messages seen. */
  readonly statements = new Map<string, string>();
  /** Every typed message received, in order. */
  readonly received: FrontendMessage[] = [];
  /** Write each answer one byte at a time (each byte its own socket write, a turn of the event loop apart). */
  byteByByte = false;
  readonly closed: Promise<void>;
  private buffer = Buffer.alloc(0);
  /** Chunks received and not yet joined to buffer (joined only when a read needs more: no quadratic copying). */
  private chunks: Buffer[] = [];
  private chunked = 0;
  private wake: (() => void) | undefined;
  private isClosed = false;

  constructor(readonly socket: net.Socket) {
    socket.setNoDelay(true);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.chunked += chunk.length;
      this.wake?.();
    });
    socket.on('error', () => undefined);
    socket.once('close', () => {
      this.isClosed = true;
      this.wake?.();
    });
  }

  private async bytes(count: number): Promise<Buffer> {
    for (;;) {
      if (this.buffer.length < count && this.buffer.length + this.chunked >= count) {
        this.buffer = Buffer.concat([this.buffer, ...this.chunks]);
        this.chunks = [];
        this.chunked = 0;
      }
      if (this.buffer.length >= count) break;
      if (this.isClosed) throw new Error('the client closed the connection');
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
    const out = this.buffer.subarray(0, count);
    this.buffer = this.buffer.subarray(count);
    return out;
  }

  /** A message without a type byte (start-up, SSLRequest, CancelRequest): its body after the length. */
  async untyped(): Promise<Buffer> {
    const length = (await this.bytes(4)).readInt32BE(0);
    return Buffer.from(await this.bytes(length - 4));
  }

  async next(): Promise<FrontendMessage> {
    const header = await this.bytes(5);
    const body = Buffer.from(await this.bytes(header.readInt32BE(1) - 4));
    const message = { type: String.fromCharCode(header[0]!), body };
    if (message.type === 'P') {
      const nameEnd = body.indexOf(0);
      this.statements.set(body.toString('utf8', 0, nameEnd), body.toString('utf8', nameEnd + 1, body.indexOf(0, nameEnd + 1)));
    }
    this.received.push(message);
    return message;
  }

  /** The messages of one unit, up to and including its Sync. */
  async unit(): Promise<FrontendMessage[]> {
    const messages: FrontendMessage[] = [];
    for (;;) {
      const message = await this.next();
      messages.push(message);
      if (message.type === 'S') return messages;
    }
  }

  async write(...messages: Buffer[]): Promise<void> {
    const data = Buffer.concat(messages);
    if (!this.byteByByte) {
      this.socket.write(data);
      return;
    }
    for (const byte of data) {
      if (this.socket.destroyed) return;
      this.socket.write(Buffer.from([byte]));
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  }

  /** A frozen server: reads (and records) whatever comes, answers nothing, until the client goes away. */
  async ignoreAll(): Promise<void> {
    try {
      for (;;) await this.next();
    } catch {
      // the client closed the connection
    }
  }

  /** AuthenticationOk, a ParameterStatus, BackendKeyData and the first ReadyForQuery. */
  acceptLogin(processId = 4242, secretKey = 0x5eed): Promise<void> {
    return this.write(backend.authentication(0), backend.parameterStatus('server_version', '15.0'), backend.backendKey(processId, secretKey), backend.ready());
  }

  /**
   * Answers units as PostgreSQL does, each statement by `answer`, until the client goes away: an error skips
   * the rest of its unit up to the Sync; `status` is the ReadyForQuery status sent after each unit.
   */
  async serve(answer: Answerer, status: () => 'I' | 'T' | 'E' = () => 'I'): Promise<void> {
    for (;;) {
      let messages: FrontendMessage[];
      try {
        messages = await this.unit();
      } catch {
        return;
      }
      const answers = this.answerUnit(messages, answer);
      const copying = answers.some((message) => 'GHW'.includes(String.fromCharCode(message[0]!)));
      if (copying) {
        // As PostgreSQL in COPY mode: no ReadyForQuery until the copy ends, which our client never does.
        await this.write(...answers);
        await this.closed;
        return;
      }
      await this.write(...answers, backend.ready(status()));
    }
  }

  /** The answers to one unit's messages (before its ReadyForQuery). */
  answerUnit(messages: FrontendMessage[], answer: Answerer): Buffer[] {
    const out: Buffer[] = [];
    let bound: { text: string; params: (string | null)[] } | undefined;
    for (const message of messages) {
      const { type, body } = message;
      if (type === 'S') break;
      if (type === 'P') out.push(backend.message('1'));
      else if (type === 'C') out.push(backend.message('3'));
      else if (type === 'D') {
        const columns = answer(this.statements.get(body.toString('utf8', 1, body.length - 1)) ?? '', undefined).columns;
        out.push(backend.message('t', int16(0)), columns ? backend.rowDescription(columns) : backend.message('n'));
      } else if (type === 'B') {
        bound = parseBind(body, this.statements);
        out.push(backend.message('2'));
      } else if (type === 'E' && bound) {
        const result = answer(bound.text, bound.params);
        if (result.error) {
          out.push(backend.error(result.error.code, result.error.message, result.error.severity));
          break; // the server skips to the Sync
        }
        if (result.copy) {
          out.push(backend.copyResponse(result.copy));
          break;
        }
        for (const row of result.rows ?? []) out.push(backend.dataRow(row));
        out.push(backend.commandComplete(result.rows ? `SELECT ${result.rows.length}` : 'OK'));
      }
    }
    return out;
  }
}

function parseBind(body: Buffer, statements: Map<string, string>): { text: string; params: (string | null)[] } {
  let at = body.indexOf(0) + 1; // portal
  const nameEnd = body.indexOf(0, at);
  const text = statements.get(body.toString('utf8', at, nameEnd)) ?? '';
  at = nameEnd + 1;
  const formats = body.readInt16BE(at);
  at += 2 + formats * 2;
  const count = body.readUInt16BE(at);
  at += 2;
  const params: (string | null)[] = [];
  for (let i = 0; i < count; i++) {
    const length = body.readInt32BE(at);
    at += 4;
    if (length < 0) params.push(null);
    else {
      params.push(body.toString('utf8', at, at + length));
      at += length;
    }
  }
  return { text, params };
}

export class FakePgServer {
  readonly clients: FakePgClient[] = [];
  readonly cancelRequests: CancelRequestSeen[] = [];
  /** Failures of session scripts (other than the client going away), for the test to assert on. */
  readonly failures: Error[] = [];
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  static async start(session: (client: FakePgClient) => Promise<void>): Promise<FakePgServer> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const fake = new FakePgServer(server, (server.address() as AddressInfo).port);
    server.on('connection', (socket) => {
      fake.sockets.add(socket);
      socket.once('close', () => fake.sockets.delete(socket));
      void fake.accept(new FakePgClient(socket), session);
    });
    return fake;
  }

  url(query = ''): string {
    return `postgres://ggscale:secret@127.0.0.1:${this.port}/fake${query}`;
  }

  private async accept(client: FakePgClient, session: (client: FakePgClient) => Promise<void>): Promise<void> {
    try {
      let sslRequested = false;
      for (;;) {
        const body = await client.untyped();
        const code = body.readInt32BE(0);
        if (code === SSL_REQUEST_CODE) {
          sslRequested = true;
          client.socket.write('N');
          continue;
        }
        if (code === CANCEL_REQUEST_CODE) {
          this.cancelRequests.push({ processId: body.readInt32BE(4), secretKey: body.readInt32BE(8), sslRequested });
          client.socket.end();
          return;
        }
        const fields = body.toString('utf8', 4).split('\0');
        for (let i = 0; i + 1 < fields.length && fields[i] !== ''; i += 2) client.parameters[fields[i]!] = fields[i + 1]!;
        break;
      }
      this.clients.push(client);
      await session(client);
    } catch (error) {
      if (!client.socket.destroyed) this.failures.push(error as Error);
    }
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
