/**
 * Password authentication as the server asks for it: MD5 (legacy) and SCRAM-SHA-256 (RFC 5802 / RFC 7677,
 * PostgreSQL's default since version 14, and what managed PostgreSQL services require).
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

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
  }
}

function scramError(message: string): Error {
  // 28xxx: invalid authorization; not a reason to report the database as down.
  return Object.assign(new Error(message), { code: '28000' });
}
