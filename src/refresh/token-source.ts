/**
 * Where access tokens come from: the in-memory cache, single flight per grant in this process, the
 * refresh transaction, and the write-behind of rotated grants the store refused. The manager is its
 * face; this is its engine.
 * @module
 */
import { ClosedError, ReauthRequiredError, TokenManagerError, type ReauthReason } from '../errors.ts';
import { canAdopt } from '../grant/adopt.ts';
import type { Grant } from '../grant/grant.ts';
import { GrantCache, type CacheEntry } from './cache.ts';
import { refreshGrant, type RefreshContext } from './transaction.ts';
import { WriteBehind } from './write-behind.ts';

/** Settings of a {@link TokenSource}. @internal */
export interface TokenSourceOptions {
  maxCachedGrants: number;
  /** Called for every grant put in the cache (keep-alive tracking, `reauthSoon`). */
  onCached(grant: Grant): void;
  /** Ends background work. */
  signal: AbortSignal;
}

/** @internal */
export class TokenSource {
  readonly cache: GrantCache;
  readonly #ctx: RefreshContext;
  readonly #inflight = new Map<string, Promise<CacheEntry>>();
  readonly #unpersisted: WriteBehind;
  readonly #options: TokenSourceOptions;

  constructor(ctx: RefreshContext, options: TokenSourceOptions) {
    this.#ctx = ctx;
    this.#options = options;
    this.cache = new GrantCache(options.maxCachedGrants, ctx.policy.refreshWindowMs);
    this.#unpersisted = new WriteBehind(ctx.store, {
      onHeld: (grant, error, attempt) => {
        this.cache.delete(grant.key);
        ctx.emit('persistFailed', { key: grant.key, error, attempt });
      },
      onPersisted: (grant) => {
        this.cacheGrant(grant);
        ctx.emit('persisted', { key: grant.key, rotations: grant.rotations });
      },
    }, options.signal);
  }

  /** Single flight: one resolution per key in this process, however many callers wait. */
  sync(key: string, force: boolean, seenRotations: number | undefined): Promise<CacheEntry> {
    const inflight = this.#inflight.get(key);
    if (inflight !== undefined) return inflight;
    const promise = this.#resolve(key, force, seenRotations).finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, promise);
    return promise;
  }

  /** Starts a refresh nobody waits for; callers keep the still-valid token meanwhile. */
  refreshInBackground(key: string, entry: CacheEntry): void {
    if (this.#inflight.has(key)) return;
    this.sync(key, false, entry.grant.rotations).catch(() => {
      // Reported through 'refreshFailed'; callers keep the still-valid token until it expires.
    });
  }

  /** Puts a grant in the cache (a consent, an adoption, a refresh). */
  cacheGrant(grant: Grant): CacheEntry {
    this.#options.onCached(grant);
    return this.cache.set(grant);
  }

  /** The newest grant of `key` held in memory because the store refused it, if any. */
  held(key: string): Grant | undefined {
    return this.#unpersisted.get(key);
  }

  /** Drops every in-memory copy of `key`'s grant (a new consent or a revocation replaced it). */
  forget(key: string): void {
    this.#unpersisted.discard(key);
    this.cache.delete(key);
  }

  /** Writes held grants one last time, lets refreshes in flight settle, and empties the cache. */
  async close(settle: () => void): Promise<void> {
    let failure: unknown;
    await this.#unpersisted.flushAll().catch((error: unknown) => {
      failure = error;
    });
    settle();
    await Promise.allSettled(this.#inflight.values());
    this.cache.clear();
    if (failure !== undefined) throw failure;
  }

  async #resolve(key: string, force: boolean, seenRotations: number | undefined): Promise<CacheEntry> {
    const { signal } = this.#options;
    const { store, policy, emit } = this.#ctx;
    try {
      await this.#unpersisted.flush(key, signal);
      const request = { force, seenRotations };
      // A read before the lock only pays when it may find another process's rotation of a token we
      // still hold valid; a forced refresh or an expired token goes straight to the lock (which reads).
      if (!force && !this.#expired(key)) {
        const stored = await store.getGrant(key, signal);
        if (stored !== undefined && stored.status !== 'active') throw new ReauthRequiredError(key, stored.reauthReason ?? 'invalid_grant');
        if (stored !== undefined && canAdopt(stored, policy.now(), policy.refreshWindowMs, request)) return this.cacheGrant(stored);
      }
      const outcome = await refreshGrant(this.#ctx, key, request, signal);
      if ('unpersisted' in outcome) {
        this.#unpersisted.hold(outcome.unpersisted, outcome.error);
        throw outcome.error;
      }
      const entry = this.cacheGrant(outcome.grant);
      if (outcome.refreshed) emit('refreshed', { key, rotations: outcome.grant.rotations, expiresAt: outcome.grant.expiresAt });
      return entry;
    } catch (error) {
      if (error instanceof ReauthRequiredError) this.#onReauth(key, error.reason);
      const reported = error instanceof TokenManagerError ? error : signal.aborted ? new ClosedError() : undefined;
      if (reported !== undefined) emit('refreshFailed', { key, error: reported });
      throw error;
    }
  }

  /** Whether this process holds `key`'s grant and its access token is no longer handed out. */
  #expired(key: string): boolean {
    const entry = this.cache.get(key);
    return entry !== undefined && this.#ctx.policy.now() >= entry.usableUntil;
  }

  /**
   * A dead grant's access token is still served until it expires when the server did not revoke it
   * (rotation lost, or our own lifetime estimate ran out); never again refreshed.
   */
  #onReauth(key: string, reason: ReauthReason): void {
    const entry = this.cache.get(key);
    if (entry !== undefined && (reason === 'rotation_lost' || reason === 'expired') && this.#ctx.policy.now() < entry.usableUntil) {
      entry.refreshAt = entry.usableUntil;
    } else {
      this.cache.delete(key);
    }
  }
}
