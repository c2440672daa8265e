/**
 * Where access tokens come from: the in-memory cache, single flight per grant in this process, the
 * refresh transaction, and the write-behind of rotated grants the store refused. The manager is its
 * face; this is its engine.
 * @module
 */
import { ClosedError, ReauthRequiredError, TokenManagerError, type ReauthReason, type StoreError } from '../errors.ts';
import { canAdopt } from '../grant/adopt.ts';
import type { Grant } from '../grant/grant.ts';
import { GrantCache, type CacheEntry } from './cache.ts';
import type { RefreshContext } from './transaction.ts';
import { loadRefreshGrant } from './load-transaction.ts';
import { WriteBehind, type Unpersisted } from './write-behind.ts';
import { errorFields } from '../util/log.ts';
import { observeLock, observeRefresh, type ObservedRefresh } from './observer.ts';

/** A store read made before the single flight (by {@link TokenSource.load}). */
interface StoreRead {
  grant: Grant | undefined;
}

/** A cache miss asks for the stored grant as it is. */
const PLAIN_READ = { force: false, seenRotations: undefined } as const;

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
  /** Store reads of cache misses in flight (no refresh), shared by concurrent misses of a key. */
  readonly #loading = new Map<string, Promise<CacheEntry>>();
  readonly #unpersisted: WriteBehind;
  readonly #options: TokenSourceOptions;
  /** Stops reporting the cache to the observer. */
  readonly #unobserveCache: (() => void) | undefined;

  constructor(ctx: RefreshContext, options: TokenSourceOptions) {
    this.#ctx = ctx;
    this.#options = options;
    this.cache = new GrantCache(options.maxCachedGrants, ctx.policy.refreshWindowMs);
    this.#unobserveCache = ctx.observer?.observeCache(this.cache);
    this.#unpersisted = new WriteBehind(ctx.store, {
      onHeld: (grant, error, attempt) => {
        ctx.log?.error({ key: grant.key, rotations: grant.rotations, attempt, ...errorFields(error) }, 'offline-tokens: the store refused a rotated grant; it is held in memory and the write is retried');
        this.cache.delete(grant.key);
        ctx.emit('persistFailed', { key: grant.key, error, attempt });
      },
      onPersisted: (grant) => {
        ctx.log?.info({ key: grant.key, rotations: grant.rotations }, 'offline-tokens: a held grant was persisted');
        this.cacheGrant(grant);
        ctx.emit('persisted', { key: grant.key, rotations: grant.rotations });
      },
    }, options.signal);
  }

  /** Single flight: one resolution per key in this process, however many callers wait. */
  sync(key: string, force: boolean, seenRotations: number | undefined, prefetched?: StoreRead): Promise<CacheEntry> {
    const inflight = this.#inflight.get(key);
    if (inflight !== undefined) return inflight;
    const promise = this.#resolve(key, force, seenRotations, prefetched).finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, promise);
    return promise;
  }

  /**
   * A cache miss: one store read, and the grant is cached when it can be handed out as it is — no
   * timer, no abort listener, no refresh machinery. Concurrent misses of one key share the read.
   * Anything else (nothing stored, a dead grant, a refresh due, a grant held after a refused write, a
   * record in clear to re-encrypt, a resolution already in flight) goes through
   * {@link TokenSource.sync} with what was read.
   */
  load(key: string): Promise<CacheEntry> {
    const pending = this.#inflight.get(key) ?? this.#loading.get(key);
    if (pending !== undefined) return pending;
    if (this.#unpersisted.get(key) !== undefined) return this.sync(key, false, undefined);
    const loading = this.#load(key);
    this.#loading.set(key, loading);
    return loading;
  }

  async #load(key: string): Promise<CacheEntry> {
    const { store, policy } = this.#ctx;
    let stored: Grant | undefined;
    try {
      // No signal: the read is bounded by the store's deadline; close() does not wait for it.
      stored = await store.getGrant(key);
    } catch (error) {
      throw this.#failed(key, error);
    } finally {
      // After the first await: `load` has registered this read.
      this.#loading.delete(key);
    }
    if (this.#options.signal.aborted) throw new ClosedError();
    if (stored !== undefined && !store.wasPlaintext(stored) && canAdopt(stored, policy.now(), policy.refreshWindowMs, PLAIN_READ)) {
      return this.cacheGrant(stored);
    }
    return this.sync(key, false, undefined, { grant: stored });
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

  /** Holds a rotated grant the store refused (from a refresh run outside {@link TokenSource.sync}) and writes it later. */
  hold(outcome: { unpersisted: Unpersisted; error: StoreError }): void {
    this.#unpersisted.hold(outcome.unpersisted, outcome.error);
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
    this.#unobserveCache?.();
    this.cache.clear();
    if (failure !== undefined) throw failure;
  }

  async #resolve(key: string, force: boolean, seenRotations: number | undefined, prefetched: StoreRead | undefined): Promise<CacheEntry> {
    const { signal } = this.#options;
    const { store, policy, emit } = this.#ctx;
    try {
      await this.#unpersisted.flush(key, signal);
      const request = { force, seenRotations };
      // A read before the lock only pays when it may find another process's rotation of a token we
      // still hold valid; a forced refresh or an expired token goes straight to the lock (which reads).
      if (!force && !this.#expired(key)) {
        // Read just now by `load` (nothing held, so nothing was flushed since).
        const stored = prefetched !== undefined ? prefetched.grant : await store.getGrant(key, signal);
        if (stored !== undefined && store.wasPlaintext(stored)) await this.#reencrypt(key);
        // Nothing to refresh: no lock, no watcher (an unknown key costs one store read and nothing that outlives it).
        if (stored === undefined) throw new ReauthRequiredError(key, 'no_grant');
        if (stored.status !== 'active') throw new ReauthRequiredError(key, stored.reauthReason ?? 'invalid_grant');
        if (canAdopt(stored, policy.now(), policy.refreshWindowMs, request)) {
          this.#ctx.log?.debug({ key, rotations: stored.rotations }, 'offline-tokens: adopted the stored grant');
          return this.cacheGrant(stored);
        }
      }
      const refreshGrant = await loadRefreshGrant();
      const outcome = await observeRefresh(this.#ctx.observer, key, (observed) => refreshGrant(this.#observed(observed), key, request, signal));
      if ('unpersisted' in outcome) {
        this.#unpersisted.hold(outcome.unpersisted, outcome.error);
        throw outcome.error;
      }
      const entry = this.cacheGrant(outcome.grant);
      if (outcome.refreshed) {
        this.#ctx.log?.info({ key, rotations: outcome.grant.rotations, expiresAt: outcome.grant.expiresAt }, 'offline-tokens: refresh token rotated');
        emit('refreshed', { key, rotations: outcome.grant.rotations, expiresAt: outcome.grant.expiresAt });
      } else {
        this.#ctx.log?.info({ key, rotations: outcome.grant.rotations }, 'offline-tokens: adopted the grant another refresher rotated');
      }
      return entry;
    } catch (error) {
      throw this.#failed(key, error);
    }
  }

  /** The refresh context reporting one transaction's lock wait and attempts to `observed`. */
  #observed(observed: ObservedRefresh | undefined): RefreshContext {
    if (observed === undefined) return this.#ctx;
    return { ...this.#ctx, lock: observeLock(this.#ctx.lock, observed), onAttempt: () => observed.attemptStarted() };
  }

  /** Logs and reports a failed resolution; returns the error to throw. */
  #failed(key: string, error: unknown): unknown {
    if (error instanceof ReauthRequiredError) this.#ctx.log?.warn({ key, reason: error.reason }, 'offline-tokens: the grant needs a new consent');
    else this.#ctx.log?.warn({ key, ...errorFields(error) }, 'offline-tokens: refresh failed');
    if (error instanceof ReauthRequiredError) this.#onReauth(key, error.reason);
    const reported = error instanceof TokenManagerError ? error : this.#options.signal.aborted ? new ClosedError() : undefined;
    if (reported !== undefined) this.#ctx.emit('refreshFailed', { key, error: reported });
    return error;
  }

  /** Migration to encryption: a grant read in clear is re-encrypted at once, under its lock (best effort: retried on the next read). */
  async #reencrypt(key: string): Promise<void> {
    const { store, lock } = this.#ctx;
    await lock.withLock(key, (lease) => store.reencryptGrant(key, lease.signal), { signal: this.#options.signal }).catch(() => {});
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
