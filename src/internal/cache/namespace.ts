/**
 * The deployment namespace: a random id the database makes once (migration 0006) and keeps as data, so a
 * restored or copied database keeps it and a database migrated from nothing makes its own. Every node of a
 * deployment reads the same one. Redis keys and channels carry it (keyspace.ts), and when GGSCALE_PUBLIC_URL
 * is unset the access tokens' issuer is derived from it.
 */
import { AppError } from '../errors/app-error.js';
import type { Database } from '../db/database.js';
import type { CacheBackend } from './cache.js';
import { NAMESPACE_PATTERN } from './keyspace.js';

type Reader = Pick<Database, 'operator'>;

/**
 * Reads the namespace (the operator path, like the signing keys: it is not tenant data). Call it outside
 * any transaction: PGlite's one session cannot run it from inside another.
 */
export async function readDeploymentNamespace(db: Reader): Promise<string> {
  const rows = await db.operator('deployment-namespace.read', (tx) => tx.query<{ namespace: string }>('select namespace from deployment'));
  const namespace = rows[0]?.namespace;
  if (rows.length !== 1 || namespace === undefined || !NAMESPACE_PATTERN.test(namespace)) {
    throw new Error('the deployment table must hold exactly one namespace (migration 0006)');
  }
  return namespace;
}

/**
 * The namespace as the services see it: read on first use and then kept (it never changes under a running
 * node). Until the database answers, asking is a 503, and the next ask reads again.
 */
export class DeploymentNamespace {
  private known: string | undefined;
  private reading: Promise<string> | undefined;

  constructor(private readonly db: Reader) {}

  /** The namespace once read, without waiting. */
  get current(): string | undefined {
    return this.known;
  }

  async get(): Promise<string> {
    if (this.known !== undefined) return this.known;
    this.reading ??= readDeploymentNamespace(this.db)
      .then((namespace) => (this.known = namespace))
      .finally(() => (this.reading = undefined));
    try {
      return await this.reading;
    } catch (error) {
      if (error instanceof AppError) throw error;
      throw new AppError('unavailable', 'The deployment is starting; try again shortly.', { retryAfterSeconds: 1, cause: error });
    }
  }
}

export interface BindOptions {
  /** How long to wait between reads while the database cannot say yet. */
  retryMs?: number;
  /** True once the node is shutting down: stop asking. */
  stopped?: () => boolean;
  logger?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

/**
 * Binds the cache to the namespace in `db` (a node calls it once its database is open, before the database
 * takes requests). Resolves when bound; or, when the namespace cannot be read yet (migrations still pending
 * with GGSCALE_MIGRATE_ON_START=false), after the first try, while a background loop keeps reading until it
 * can. The cache refuses its shared operations until then (callers fall back or answer 503), so no key is
 * ever written outside the namespace.
 */
export async function bindDeploymentNamespace(db: Reader, cache: CacheBackend, options: BindOptions = {}): Promise<void> {
  let failure: unknown;
  const read = () =>
    readDeploymentNamespace(db).catch((error: unknown) => {
      failure = error;
      return undefined;
    });
  const namespace = await read();
  if (namespace !== undefined) return cache.useNamespace(namespace);
  options.logger?.warn({ err: failure }, 'deployment namespace not readable yet (migrations pending?): the shared cache waits for it');
  void (async () => {
    while (!options.stopped?.()) {
      await new Promise((resolve) => setTimeout(resolve, options.retryMs ?? 1_000).unref());
      if (options.stopped?.()) return;
      const late = await read();
      if (late === undefined) continue;
      await cache.useNamespace(late);
      options.logger?.info({}, 'deployment namespace read: the shared cache is in use');
      return;
    }
  })().catch((error: unknown) => options.logger?.warn({ err: error }, 'binding the cache to the deployment namespace failed'));
}
