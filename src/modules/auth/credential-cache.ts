/**
 * A bounded, expiring in-process cache of security decisions (resolved keys, verified tokens, unknown
 * hashes). Entries expire on their own within seconds; invalidation messages and subscription reconnects
 * remove them sooner, so a missed message cannot keep a revoked credential alive for long.
 */
export interface CachedDecision<T> {
  value: T;
  expiresAt: number;
}

export class CredentialCache<T> {
  private readonly entries = new Map<string, CachedDecision<T>>();

  constructor(
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: string): T | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: T, ttlMs: number): void {
    if (this.entries.size >= this.maxEntries) {
      // Map iterates in insertion order: drop the oldest tenth at once rather than one per insert.
      let drop = Math.ceil(this.maxEntries / 10);
      for (const oldest of this.entries.keys()) {
        this.entries.delete(oldest);
        if (--drop === 0) break;
      }
    }
    this.entries.set(key, { value, expiresAt: this.now() + ttlMs });
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  /** Removes every entry whose value matches (revocations are rare; a scan is fine). */
  deleteWhere(match: (value: T) => boolean): number {
    let removed = 0;
    for (const [key, entry] of this.entries) {
      if (match(entry.value)) {
        this.entries.delete(key);
        removed++;
      }
    }
    return removed;
  }

  clear(): void {
    this.entries.clear();
  }
}
