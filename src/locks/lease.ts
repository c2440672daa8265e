/**
 * A cross-process lock built from a lease backend (SQLite, Redis, PostgreSQL): a lease with a unique
 * owner token, renewed while the callback runs, released only by its owner. Callers in one process
 * queue in memory first, so only one of them polls the backend.
 * @module
 */
import { nodeCrypto } from '../util/node-crypto.ts';
import { sleep } from '../util/abort.ts';
import { LockError } from '../errors.ts';
import { createInProcessLock, type GrantLock, type Lease } from './lock.ts';
import { duration } from '../util/validate.ts';
import { toClock, type Clock } from '../util/clock.ts';
import type { CompareAndSetResult } from '../util/compare-and-set.ts';

/**
 * The three operations a lease store provides. All must be atomic in the backend.
 *
 * @example
 * ```ts
 * const leases = new Map<string, { owner: string; until: number }>(); // one process only: an illustration
 * const backend: LeaseBackend = {
 *   async tryAcquire(key, owner, ttlMs) {
 *     const lease = leases.get(key);
 *     if (lease !== undefined && lease.until > Date.now() && lease.owner !== owner) return false;
 *     leases.set(key, { owner, until: Date.now() + ttlMs });
 *     return true;
 *   },
 *   async renew(key, owner, ttlMs) {
 *     if (leases.get(key)?.owner !== owner) return false;
 *     leases.set(key, { owner, until: Date.now() + ttlMs });
 *     return true;
 *   },
 *   async release(key, owner) {
 *     if (leases.get(key)?.owner === owner) leases.delete(key);
 *   },
 * };
 * const lock = createLeaseLock(backend, { leaseTtlMs: 30_000 });
 * ```
 */
export interface LeaseBackend {
  /** Takes the lease for `owner` if it is free or expired. */
  tryAcquire(key: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Extends the lease if `owner` still holds it. */
  renew(key: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Frees the lease if `owner` still holds it. */
  release(key: string, owner: string): Promise<void>;
  /** Releases what the backend opened itself (connections). */
  close?(): Promise<void>;
  /**
   * Takes the lease like `tryAcquire` and, when taken, reads the raw value at `readKey` of the same
   * server, atomically, in one round trip. Optional.
   */
  tryAcquireAndRead?(key: string, owner: string, ttlMs: number, readKey: string, mark?: { expected: string; next: string }): Promise<{
    /** Whether the lease was taken. */
    acquired: boolean;
    /** The raw value at `readKey` when taken (`null`: none), before any `mark`. */
    value: string | null;
    /** With `mark`: whether the value was exactly `mark.expected` and is now `mark.next` (written only when the lease was taken). */
    marked?: boolean;
  }>;
  /**
   * With `tryAcquireAndRead`: sets the record at `recordKey` of the same server to `next` only if it is
   * exactly `expected` and, when it writes, releases the lease of `owner`, atomically, in one round trip. Optional.
   */
  compareAndSetAndRelease?(key: string, owner: string, recordKey: string, expected: string, next: string): Promise<CompareAndSetResult>;
}

/** Where a lease lock reads the grant record on acquire: the record key for a lock key (`undefined`: do not read). */
export type PrefetchKey = (lockKey: string) => string | undefined;

/**
 * Set by the Redis and PostgreSQL locks: given the Keyv adapter of the store and the Keyv key of the
 * grant record of a lock key, a lock on the same leases that also reads that record when it takes a
 * lease — or `undefined` when the store is not on the lock's server. Used by the composition root.
 * @internal
 */
export const WITH_PREFETCH = Symbol.for('offline-tokens.lock.withPrefetch');

/** @internal */
export type WithPrefetch = (adapter: object, recordKey: PrefetchKey) => GrantLock | undefined;

/**
 * Options shared by every lease lock.
 *
 * @example
 * ```ts
 * const lock = createSqliteLock({ database: './tokens.sqlite', leaseTtlMs: 15_000, acquireTimeoutMs: 30_000 });
 * ```
 */
export interface LeaseLockOptions {
  /** How long a lease lasts without renewal; a crashed holder blocks others at most this long. Default 30 000. */
  leaseTtlMs?: number;
  /** Longest wait for the lease before failing with a {@link LockError}. Default 60 000. */
  acquireTimeoutMs?: number;
  /** Delay between attempts while another process holds the lease. Default 25. */
  retryDelayMs?: number;
  /**
   * The clock: `monotonicMs` measures the acquire timeout and the lease's remaining time; backends that
   * store expiry times (SQLite) use `wallMs`. Default: `Date.now` and `performance.now`.
   */
  clock?: Clock;
}

/**
 * Builds a {@link GrantLock} over a lease backend.
 *
 * @example
 * ```ts
 * const lock = createLeaseLock(myBackend, { leaseTtlMs: 30_000 });
 * ```
 */
export function createLeaseLock(backend: LeaseBackend, options: LeaseLockOptions & { prefetch?: PrefetchKey } = {}): GrantLock {
  const leaseTtlMs = duration(options.leaseTtlMs, 'leaseTtlMs', 30_000, 1_000);
  const acquireTimeoutMs = duration(options.acquireTimeoutMs, 'acquireTimeoutMs', 60_000, 0);
  const retryDelayMs = duration(options.retryDelayMs, 'retryDelayMs', 25, 1);
  const clock = toClock(options.clock, 'clock');
  const local = createInProcessLock();

  return {
    withLock(key, fn, withOptions = {}) {
      const signal = withOptions.signal;
      return local.withLock(key, async () => {
        const owner = nodeCrypto().randomUUID();
        const startedAt = clock.monotonicMs();
        let prefetched: string | null | undefined;
        let premarked = false;
        let readKey: string | undefined;
        let acquiredAt: number;
        for (let attempt = 0; ; attempt++) {
          if (signal?.aborted) throw signal.reason;
          const before = clock.monotonicMs();
          let acquired: boolean;
          try {
            readKey = backend.tryAcquireAndRead === undefined ? undefined : options.prefetch?.(key);
            if (readKey === undefined) {
              acquired = await backend.tryAcquire(key, owner, leaseTtlMs);
            } else {
              // Asked at each attempt: what it writes (an in-flight marker) carries the time it is written.
              const mark = await withOptions.premark?.();
              const taken = await backend.tryAcquireAndRead!(key, owner, leaseTtlMs, readKey, mark);
              acquired = taken.acquired;
              prefetched = taken.value;
              premarked = taken.marked === true;
            }
          } catch (error) {
            // The acquisition may still land (a timed-out command): free it rather than block the
            // next holder for a whole lease.
            backend.release(key, owner).catch(() => {});
            throw new LockError('The lock backend failed while acquiring a lease', { cause: error });
          }
          if (acquired) {
            acquiredAt = before;
            break;
          }
          if (clock.monotonicMs() - startedAt >= acquireTimeoutMs) {
            throw new LockError(`Could not acquire the lock within ${acquireTimeoutMs} ms`);
          }
          await sleep(retryDelayMs * (1 + Math.random()) * Math.min(8, 1 + attempt / 8), signal);
        }
        const lease = new RenewedLease(backend, clock, key, owner, leaseTtlMs, acquiredAt, signal, readKey, readKey === undefined ? undefined : prefetched, premarked);
        try {
          return await fn(lease);
        } finally {
          await lease.end();
        }
      }, { signal });
    },
    close: async () => {
      await backend.close?.();
    },
  };
}

/** The abort reason of a lease's signal once it ended: preallocated (an error's stack costs more than the rest of `end()`). */
const RELEASED = new LockError('The lock lease was released');

class RenewedLease implements Lease {
  readonly #controller = new AbortController();
  readonly #backend: LeaseBackend;
  readonly #clock: Clock;
  readonly #key: string;
  readonly #owner: string;
  readonly #ttlMs: number;
  /** `clock.monotonicMs()` at which the lease runs out unless renewed (counted from before the request). */
  #expiresAt: number;
  readonly #timer: NodeJS.Timeout;
  readonly #onAbort: () => void;
  readonly #signal: AbortSignal | undefined;
  readonly prefetched: string | null | undefined;
  readonly premarked: boolean;
  readonly writeAndRelease: ((expected: string, next: string) => Promise<CompareAndSetResult>) | undefined;
  /** Released by a final compare-and-set: `end()` has nothing to release. */
  #released = false;

  constructor(backend: LeaseBackend, clock: Clock, key: string, owner: string, ttlMs: number, acquiredAt: number, signal: AbortSignal | undefined, readKey: string | undefined, prefetched: string | null | undefined, premarked: boolean) {
    this.prefetched = prefetched;
    this.premarked = premarked;
    const { compareAndSetAndRelease } = backend;
    this.writeAndRelease = readKey === undefined || compareAndSetAndRelease === undefined ? undefined : async (expected, next) => {
      const result = await compareAndSetAndRelease.call(backend, key, owner, readKey, expected, next);
      if (result.ok) {
        this.#released = true;
        clearInterval(this.#timer);
      }
      return result;
    };
    this.#backend = backend;
    this.#clock = clock;
    this.#key = key;
    this.#owner = owner;
    this.#ttlMs = ttlMs;
    this.#expiresAt = acquiredAt + ttlMs;
    this.#signal = signal;
    this.#onAbort = () => this.#controller.abort(signal?.reason);
    signal?.addEventListener('abort', this.#onAbort, { once: true });
    this.#timer = setInterval(() => void this.#renew(), Math.max(100, Math.floor(ttlMs / 3)));
    this.#timer.unref();
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  remainingMs(): number {
    return this.#expiresAt - this.#clock.monotonicMs();
  }

  async #renew(): Promise<void> {
    if (this.#controller.signal.aborted) return;
    const before = this.#clock.monotonicMs();
    try {
      if (await this.#backend.renew(this.#key, this.#owner, this.#ttlMs)) {
        this.#expiresAt = before + this.#ttlMs;
        return;
      }
      this.#controller.abort(new LockError('The lock lease was lost'));
    } catch (error) {
      // Keep going on the current lease; give up once it can no longer be trusted.
      if (this.remainingMs() < this.#ttlMs / 3) this.#controller.abort(new LockError('The lock lease could not be renewed', { cause: error }));
    }
  }

  async end(): Promise<void> {
    clearInterval(this.#timer);
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#controller.abort(RELEASED);
    // A failed release only delays the next holder until the lease expires.
    if (!this.#released) await this.#backend.release(this.#key, this.#owner).catch(() => {});
  }
}
