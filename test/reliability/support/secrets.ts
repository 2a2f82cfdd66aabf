/**
 * Secrets a test used or was given, and where any of them (or any 12-character piece of one) shows up in
 * a text. Pieces, not only whole values: a log that prints half a token, or a token cut to fit a line, still
 * leaks it. Every 12-character window of a secret is indexed once; the text is then read in one pass.
 */
import { createHash } from 'node:crypto';

export const WINDOW = 12;

export interface Leak {
  secret: string;
  piece: string;
  /** The text around the piece, for the failure message. */
  context: string;
}

export class SecretBag {
  private readonly windows = new Map<string, string>();
  private readonly shortOnes = new Map<string, string>();
  readonly names: string[] = [];

  /**
   * `publicPrefix` characters at the start are not secret (an API key's visible prefix, a JWT's header):
   * only pieces that reach past them count.
   */
  add(name: string, value: string, publicPrefix = 0): void {
    this.names.push(name);
    if (value.length < WINDOW) {
      this.shortOnes.set(value, name);
      return;
    }
    for (let end = Math.max(WINDOW, publicPrefix + 1); end <= value.length; end++) this.windows.set(value.slice(end - WINDOW, end), name);
  }

  /** A value and the SHA-256 digests the server keeps of such values (hex and base64 forms). */
  addWithDigests(name: string, value: string, publicPrefix = 0): void {
    this.add(name, value, publicPrefix);
    const digest = createHash('sha256').update(value).digest();
    this.add(`${name} (sha-256 hex)`, digest.toString('hex'));
    this.add(`${name} (sha-256 base64)`, digest.toString('base64'));
  }

  /** A JWT: its header is the same for every token of a key, not secret; the claims and signature are. */
  addJwt(name: string, token: string): void {
    this.add(name, token, token.indexOf('.') + 1);
  }

  get size(): number {
    return this.names.length;
  }

  findIn(text: string): Leak[] {
    const leaks: Leak[] = [];
    const seen = new Set<string>();
    const report = (secret: string, piece: string, at: number) => {
      if (seen.has(secret)) return;
      seen.add(secret);
      leaks.push({ secret, piece, context: text.slice(Math.max(0, at - 80), at + piece.length + 80) });
    };
    for (let at = 0; at + WINDOW <= text.length; at++) {
      const piece = text.slice(at, at + WINDOW);
      const secret = this.windows.get(piece);
      if (secret !== undefined) report(secret, piece, at);
    }
    for (const [value, secret] of this.shortOnes) {
      const at = text.indexOf(value);
      if (at >= 0) report(secret, value, at);
    }
    return leaks;
  }
}
