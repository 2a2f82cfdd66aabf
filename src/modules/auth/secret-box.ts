/** Encrypts signing keys at rest when GGSCALE_SECRET_KEY is set (AES-256-GCM, key = SHA-256 of the secret). */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

const MARK = 'enc:v1:';

export class SecretBox {
  private readonly key: Buffer | undefined;

  constructor(secret: string | undefined) {
    this.key = secret ? createHash('sha256').update(secret).digest() : undefined;
  }

  seal(plain: string): string {
    if (!this.key) return plain;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return MARK + [iv, cipher.getAuthTag(), body].map((part) => part.toString('base64url')).join(':');
  }

  open(stored: string): string {
    if (!stored.startsWith(MARK)) return stored;
    if (!this.key) throw new Error('a signing key is encrypted but GGSCALE_SECRET_KEY is not set');
    const [iv, tag, body] = stored.slice(MARK.length).split(':').map((part) => Buffer.from(part, 'base64url'));
    const decipher = createDecipheriv('aes-256-gcm', this.key, iv!);
    decipher.setAuthTag(tag!);
    return Buffer.concat([decipher.update(body!), decipher.final()]).toString('utf8');
  }
}
