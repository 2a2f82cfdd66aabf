/**
 * argon2id with OWASP's minimum (m = 19 MiB, t = 2, p = 1) through @node-rs/argon2 (argon2@0.45's prebuild
 * crashes on Node 20). Hashes run on a bounded number of threads; a full queue answers at once with 503
 * rather than piling up requests that would all time out.
 */
import type { Algorithm } from '@node-rs/argon2';
import { unavailable } from '../../internal/errors/app-error.js';

// Algorithm is a const enum (not importable under verbatimModuleSyntax): 2 is Argon2id.
const ARGON2ID = 2 as Algorithm;
export const ARGON2_PARAMS = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 };

// The native module loads on first use, not at start-up.
type Argon2 = typeof import('@node-rs/argon2');
let argon2: Promise<Argon2> | undefined;
const loadArgon2 = () => (argon2 ??= import('@node-rs/argon2'));

export class PasswordHasher {
  private running = 0;
  private readonly queue: (() => void)[] = [];
  private dummy: Promise<string> | undefined;

  constructor(private readonly options: { concurrency: number; maxQueue: number }) {}

  private async slot<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.options.concurrency) {
      if (this.queue.length >= this.options.maxQueue) throw unavailable('Too many sign-ins at once; try again in a moment.', 1);
      await new Promise<void>((resolve) => this.queue.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await work();
    } finally {
      const next = this.queue.shift();
      if (next) next();
      else this.running--;
    }
  }

  hash(password: string): Promise<string> {
    return this.slot(async () => (await loadArgon2()).hash(password, ARGON2_PARAMS));
  }

  /** False for a wrong password or a malformed stored hash. */
  verify(stored: string, password: string): Promise<boolean> {
    return this.slot(async () => (await loadArgon2()).verify(stored, password).catch(() => false));
  }

  /** Spends a verification's time when there is no account, so unknown emails cannot be told apart. */
  async verifyDummy(password: string): Promise<false> {
    this.dummy ??= loadArgon2().then((lib) => lib.hash('ggscale-dummy-password', ARGON2_PARAMS));
    await this.verify(await this.dummy, password);
    return false;
  }
}
