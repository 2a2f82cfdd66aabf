/**
 * Ed25519 signing keys for access tokens, shared by every node through the database. A key is published in
 * the JWKS as soon as it exists, signs from `activates_at` (so verifiers have fetched it before they meet a
 * token it signed) and stays published until its last token has expired.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import type { Database } from '../../internal/db/database.js';
import type { SecretBox } from './secret-box.js';

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicJwk: Record<string, unknown>;
  activatesAt: Date;
  retiredAt: Date | null;
}

interface KeyRow {
  kid: string;
  public_jwk: Record<string, unknown>;
  private_key: string;
  activates_at: Date;
  retired_at: Date | null;
}

export class SigningKeyStore {
  private keys: SigningKey[] = [];
  private loadedAt = 0;
  private loading: Promise<void> | undefined;

  constructor(
    private readonly db: Database,
    private readonly box: SecretBox,
    private readonly options: { accessTtlSeconds: number; refreshMs?: number; now?: () => number },
  ) {}

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  /** Reloads from the database when stale, creating the first key if there is none. */
  async ensureLoaded(): Promise<void> {
    if (this.keys.length > 0 && this.now() - this.loadedAt < (this.options.refreshMs ?? 30_000)) return;
    this.loading ??= this.load().finally(() => (this.loading = undefined));
    await this.loading;
  }

  private async load(): Promise<void> {
    let rows = await this.db.operator('signing-keys.load', (tx) =>
      tx.query<KeyRow>('select kid, public_jwk, private_key, activates_at, retired_at from signing_keys order by activates_at, kid'),
    );
    if (rows.length === 0) {
      await this.insertKey(new Date(this.now()));
      rows = await this.db.operator('signing-keys.load', (tx) =>
        tx.query<KeyRow>('select kid, public_jwk, private_key, activates_at, retired_at from signing_keys order by activates_at, kid'),
      );
    }
    this.keys = rows.map((row) => {
      const privateKey = createPrivateKey(this.box.open(row.private_key));
      return {
        kid: row.kid,
        privateKey,
        publicKey: createPublicKey(privateKey),
        publicJwk: row.public_jwk,
        activatesAt: new Date(row.activates_at),
        retiredAt: row.retired_at ? new Date(row.retired_at) : null,
      };
    });
    this.loadedAt = this.now();
  }

  /** Creates a key that starts signing at `activatesAt`; returns its kid. */
  async insertKey(activatesAt: Date): Promise<string> {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const kid = randomUUID();
    const jwk = { ...publicKey.export({ format: 'jwk' }), kid, alg: 'EdDSA', use: 'sig' };
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    await this.db.operator('signing-keys.insert', (tx) =>
      tx.query('insert into signing_keys (kid, public_jwk, private_key, activates_at) values ($1, $2::text::jsonb, $3, $4)', [
        kid,
        JSON.stringify(jwk),
        this.box.seal(pem),
        activatesAt,
      ]),
    );
    this.loadedAt = 0;
    return kid;
  }

  /**
   * Rotation (`ggscale keys rotate`): a new key is published now and signs after `publishLeadSeconds`;
   * older keys retire at that moment and remain published until their last token has expired.
   */
  async rotate(publishLeadSeconds: number): Promise<{ kid: string; activates_at: string }> {
    const activatesAt = new Date(this.now() + publishLeadSeconds * 1000);
    const kid = await this.insertKey(activatesAt);
    await this.db.operator('signing-keys.retire', (tx) =>
      tx.query('update signing_keys set retired_at = $1 where kid <> $2 and retired_at is null', [activatesAt, kid]),
    );
    await this.db.operator('signing-keys.prune', (tx) =>
      tx.query("delete from signing_keys where retired_at < now() - make_interval(secs => $1)", [this.options.accessTtlSeconds * 2]),
    );
    this.loadedAt = 0;
    return { kid, activates_at: activatesAt.toISOString() };
  }

  /** The newest key whose activation time has come. */
  signingKey(): SigningKey {
    const now = this.now();
    const active = this.keys.filter((key) => key.activatesAt.getTime() <= now);
    const key = active.at(-1) ?? this.keys[0];
    if (!key) throw new Error('no signing key loaded');
    return key;
  }

  verificationKey(kid: string): SigningKey | undefined {
    return this.keys.find((key) => key.kid === kid && this.isPublished(key));
  }

  private isPublished(key: SigningKey): boolean {
    return key.retiredAt === null || key.retiredAt.getTime() + this.options.accessTtlSeconds * 1000 > this.now();
  }

  jwks(): { keys: Record<string, unknown>[] } {
    return { keys: this.keys.filter((key) => this.isPublished(key)).map((key) => key.publicJwk) };
  }

  /** A kid not yet known locally (a rotation on another node): reload once. */
  async refreshForUnknownKid(kid: string): Promise<SigningKey | undefined> {
    if (this.verificationKey(kid)) return this.verificationKey(kid);
    if (this.now() - this.loadedAt > 1000) {
      this.loadedAt = 0;
      await this.ensureLoaded();
    }
    return this.verificationKey(kid);
  }
}
