/**
 * The in-memory cache of grants with their refresh schedule, bounded to `maxEntries` with a CLOCK
 * ("second chance") approximation of LRU: a hit only sets a flag, so the hot path does no Map
 * reordering; eviction gives recently used entries one more round.
 * @module
 */
import { refreshTiming } from '../grant/expiry.ts';
import type { Grant } from '../grant/grant.ts';
import { toTokenResult, type TokenResult } from '../grant/token.ts';

/** A cached grant. */
export interface CacheEntry {
  grant: Grant;
  /** Resolved promise of the access token: the hot path returns it without allocating. */
  token: Promise<string>;
  /** Epoch ms from which the token is refreshed in the background. */
  refreshAt: number;
  /** Epoch ms from which the token is no longer handed out. */
  usableUntil: number;
  /** Set on every hit, cleared by the eviction sweep. */
  used: boolean;
  /**
   * Resolved promise of the token with its metadata, for `getToken`'s hot path (no allocation); made
   * on the first `getToken` ({@link tokenResult}), so a cache miss served to `getAccessToken` does not pay for it.
   */
  result: Promise<TokenResult> | undefined;
}

/**
 * The entry's resolved `getToken` result, made on first use.
 * @internal
 */
export function tokenResult(entry: CacheEntry): Promise<TokenResult> {
  return entry.result ??= Promise.resolve(toTokenResult(entry.grant));
}

/** @internal */
export class GrantCache {
  /**
   * Calls answered from memory, counted by the manager's hot path: a plain integer field, so counting
   * costs one increment (metrics read it when they are collected).
   */
  hits = 0;
  /** Calls that needed the store or a refresh. */
  misses = 0;
  readonly #entries = new Map<string, CacheEntry>();
  readonly #maxEntries: number;
  readonly #refreshWindowMs: number;

  constructor(maxEntries: number, refreshWindowMs: number) {
    this.#maxEntries = maxEntries;
    this.#refreshWindowMs = refreshWindowMs;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: string): CacheEntry | undefined {
    return this.#entries.get(key);
  }

  /** Caches a grant with a jittered refresh moment; evicts the least recently used beyond the bound. */
  set(grant: Grant): CacheEntry {
    const { refreshAt, usableUntil } = refreshTiming(grant, this.#refreshWindowMs, Math.random());
    // Born used: a grant is cached because it is being used, so it must not be the next one evicted.
    const entry: CacheEntry = { grant, token: Promise.resolve(grant.accessToken), refreshAt, usableUntil, used: true, result: undefined };
    const isNew = !this.#entries.has(grant.key);
    this.#entries.set(grant.key, entry);
    if (isNew && this.#entries.size > this.#maxEntries) this.#evict();
    return entry;
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  /** Cached grants by status (for metrics: walks the cache, never called on the hot path). */
  statusCounts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const { grant } of this.#entries.values()) counts[grant.status] = (counts[grant.status] ?? 0) + 1;
    return counts;
  }

  clear(): void {
    this.#entries.clear();
  }

  #evict(): void {
    for (const [key, entry] of this.#entries) {
      this.#entries.delete(key);
      if (!entry.used) return;
      entry.used = false;
      this.#entries.set(key, entry); // second chance: back of the queue
    }
  }
}
