/**
 * Password authentication as the server asks for it: MD5 (legacy) and SCRAM-SHA-256 (RFC 5802 / RFC 7677,
 * PostgreSQL's default since version 14, and what managed PostgreSQL services require).
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ConnectionTarget } from './connection-options.js';
import { FrameWriter } from './frames.js';
import { PostgresServerError } from './server-error.js';
import type { BackendKey } from './transport.js';

export function md5Password(user: string, password: string, salt: Buffer): string {
  const inner = createHash('md5').update(password + user).digest('hex');
  return 'md5' + createHash('md5').update(inner).update(salt).digest('hex');
}

const hmac = (key: Buffer, data: string) => createHmac('sha256', key).update(data).digest();

export class ScramClient {
  readonly mechanism = 'SCRAM-SHA-256';
  private readonly clientNonce = randomBytes(18).toString('base64');
  // PostgreSQL takes the user from the start-up message and ignores this one.
  private readonly clientFirstBare = `n=*,r=${this.clientNonce}`;
  private expectedServerSignature: Buffer | undefined;
  /** Set once the server has proved it knows the password: AuthenticationOk before that is refused. */
  verified = false;

  constructor(private readonly password: string) {}

  /** client-first-message, with the GS2 header "n,," (no channel binding). */
  first(): Buffer {
    return Buffer.from(`n,,${this.clientFirstBare}`, 'utf8');
  }

  /** client-final-message, from the server-first-message. */
  final(serverFirst: string): Buffer {
    const fields = new Map(serverFirst.split(',').map((part) => [part.slice(0, 1), part.slice(2)]));
    const nonce = fields.get('r') ?? '';
    const salt = fields.get('s');
    const iterations = Number(fields.get('i'));
    if (!nonce.startsWith(this.clientNonce) || nonce.length <= this.clientNonce.length || !salt || !Number.isInteger(iterations) || iterations < 1) {
      throw scramError('the server sent an invalid SCRAM challenge');
    }
    const salted = pbkdf2Sync(this.password.normalize('NFKC'), Buffer.from(salt, 'base64'), iterations, 32, 'sha256');
    const clientKey = hmac(salted, 'Client Key');
    const storedKey = createHash('sha256').update(clientKey).digest();
    const withoutProof = `c=biws,r=${nonce}`;
    const authMessage = `${this.clientFirstBare},${serverFirst},${withoutProof}`;
    const signature = hmac(storedKey, authMessage);
    const proof = Buffer.from(clientKey.map((byte, i) => byte ^ signature[i]!));
    this.expectedServerSignature = hmac(hmac(salted, 'Server Key'), authMessage);
    return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`, 'utf8');
  }

  /** Checks the server-final-message: the server proves it knew the password too. */
  verify(serverFinal: string): void {
    const signature = Buffer.from(/(?:^|,)v=([^,]*)/.exec(serverFinal)?.[1] ?? '', 'base64');
    const expected = this.expectedServerSignature;
    if (!expected || signature.length !== expected.length || !timingSafeEqual(signature, expected)) {
      throw scramError('the server failed to prove it knows the password (SCRAM server signature mismatch)');
    }
    this.verified = true;
  }
}

function scramError(message: string): Error {
  // 28xxx: invalid authorization; not a reason to report the database as down.
  return Object.assign(new Error(message), { code: '28000' });
}

/**
 * The start-up exchange, message by message, up to the first ReadyForQuery: the password the server asks for
 * (cleartext, MD5 or SCRAM-SHA-256), then its parameters and the key that lets us cancel later.
 */
export class StartupExchange {
  backendKey: BackendKey | undefined;
  private scram: ScramClient | undefined;

  constructor(
    private readonly target: ConnectionTarget,
    private readonly send: (writer: FrameWriter) => void,
  ) {}

  /** The start-up message itself. */
  begin(): void {
    const { target } = this;
    this.send(new FrameWriter().startup({ user: target.user, database: target.database, client_encoding: 'UTF8', ...target.parameters }));
  }

  /** One server message; true once the server is ready for queries. Throws when the login fails. */
  handle(type: number, body: Buffer): boolean {
    if (type === 0x52 /* 'R' Authentication* */) {
      this.authenticate(body);
      return false;
    }
    if (type === 0x45 /* 'E' */) throw PostgresServerError.decode(body);
    if (type === 0x4b /* 'K' BackendKeyData */) {
      this.backendKey = { processId: body.readInt32BE(0), secretKey: Buffer.from(body.subarray(4)) };
      return false;
    }
    // ParameterStatus and notices need nothing.
    return type === 0x5a; /* 'Z' ReadyForQuery */
  }

  private authenticate(body: Buffer): void {
    const kind = body.readInt32BE(0);
    if (kind === 0) {
      // AuthenticationOk. After SCRAM, only once the server has proved it knows the password too: a server
      // that skips its proof could be anyone (libpq refuses it as well).
      if (this.scram && !this.scram.verified) throw scramError('the server ended SCRAM authentication without proving it knows the password');
      return;
    }
    if (kind === 3) return this.send(new FrameWriter().password(this.password()));
    if (kind === 5) return this.send(new FrameWriter().password(md5Password(this.target.user, this.password(), body.subarray(4, 8))));
    if (kind === 10) {
      const mechanisms = body.toString('utf8', 4).split('\0');
      if (!mechanisms.includes('SCRAM-SHA-256')) throw Object.assign(new Error(`unsupported SASL mechanisms: ${mechanisms.join(' ')}`), { code: '28000' });
      this.scram = new ScramClient(this.password());
      return this.send(new FrameWriter().saslInitialResponse(this.scram.mechanism, this.scram.first()));
    }
    if (kind === 11 && this.scram) return this.send(new FrameWriter().saslResponse(this.scram.final(body.toString('utf8', 4))));
    if (kind === 12 && this.scram) return this.scram.verify(body.toString('utf8', 4));
    throw Object.assign(new Error(`unsupported authentication request ${kind}`), { code: '28000' });
  }

  private password(): string {
    if (this.target.password === undefined) throw Object.assign(new Error('the server asks for a password and none is configured'), { code: '28P01' });
    return this.target.password;
  }
}
