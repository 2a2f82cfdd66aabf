/**
 * A bounded, expiring in-process cache of security decisions (resolved keys, verified tokens, unknown
 * hashes). Entries expire on their own within seconds; invalidation messages and subscription reconnects
 * remove them sooner, so a missed message cannot keep a revoked credential alive for long.
 */
import { LRUCache } from 'lru-cache';
import { lruClock } from '../../internal/lru-clock.js';

/** A decision and the time it stops being trusted (the cache keeps the expiry itself). */
export interface CachedDecision<T> {
  value: T;
  expiresAt: number;
}

export class CredentialCache<T> {
  private readonly entries: LRUCache<string, { value: T }>;

  constructor(maxEntries: number, now: () => number = Date.now) {
    // ttlResolution 0: read the clock on each lookup rather than start a timer to cache its reading.
    this.entries = new LRUCache({ max: maxEntries, perf: lruClock(now), ttlResolution: 0 });
  }

  /** On every authenticated request: a map lookup and one clock read (no timers, no per-entry purge). */
  get(key: string): T | undefined {
    return this.entries.get(key)?.value;
  }

  /** When full, the least recently used entry makes room. */
  set(key: string, value: T, ttlMs: number): void {
    // lru-cache reads a ttl of 0 as "forever": a decision already expired is simply not kept.
    if (ttlMs <= 0) this.entries.delete(key);
    else this.entries.set(key, { value }, { ttl: ttlMs });
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  /** Removes every live entry whose value matches (revocations are rare; a scan is fine). */
  deleteWhere(match: (value: T) => boolean): number {
    const doomed: string[] = [];
    for (const [key, entry] of this.entries.entries()) if (match(entry.value)) doomed.push(key);
    for (const key of doomed) this.entries.delete(key);
    return doomed.length;
  }

  clear(): void {
    this.entries.clear();
  }
}
