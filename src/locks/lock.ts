/**
 * Callback-scoped locks: at most one refresh per grant at a time. A lock cannot be left held: it is
 * released when the callback settles.
 * @module
 */
import { raceSignal } from '../util/abort.ts';
import type { CompareAndSetResult } from '../util/compare-and-set.ts';

export type { CompareAndSetResult } from '../util/compare-and-set.ts';

/**
 * What the callback of {@link GrantLock.withLock} holds while it runs.
 *
 * @example
 * ```ts
 * await lock.withLock('user-42', async (lease) => {
 *   if (lease.remainingMs() < 5_000) return; // too little time left to do the work safely
 *   await work({ signal: lease.signal });
 * });
 * ```
 */
export interface Lease {
  /**
   * Aborts when the lease is lost or about to run out (a renewal failed): stop work and do not write.
   */
  readonly signal: AbortSignal;
  /** Milliseconds the lease is guaranteed to last from now, even if no renewal succeeds. `Infinity` for in-process locks. */
  remainingMs(): number;
  /**
   * The grant record as stored when the lease was taken, read in the same round trip (a lease lock
   * on the store's own server, see `lease.ts`): the raw stored value, `null` when none. Absent when
   * the lock did not read.
   */
  readonly prefetched?: string | null | undefined;
  /**
   * Writes the grant record read with the lease — only if its raw stored value is still exactly
   * `expected` — and, when it writes, releases the lease in the same round trip (the lock's own
   * connection to the store's server): for the last write of a transaction. Present only with
   * {@link Lease.prefetched}.
   */
  readonly writeAndRelease?: ((expected: string, next: string) => Promise<CompareAndSetResult>) | undefined;
  /** Whether the record was replaced by the `premark` of {@link WithLockOptions} when the lease was taken. */
  readonly premarked?: boolean | undefined;
}


/**
 * Options of {@link GrantLock.withLock}.
 *
 * @example
 * ```ts
 * await lock.withLock('user-42', work, { signal: AbortSignal.timeout(10_000) });
 * ```
 */
export interface WithLockOptions {
  /** Stop waiting for the lock (and abort the lease) when this aborts. */
  signal?: AbortSignal | undefined;
  /**
   * Asked right before each attempt to take the lease, by a lock that reads the grant record with
   * the lease (see {@link Lease.prefetched}): the record is replaced by `next` in the same round trip
   * when it is exactly `expected` (see {@link Lease.premarked}). Other locks ignore it.
   * @internal
   */
  premark?: (() => Promise<{ expected: string; next: string } | undefined>) | undefined;
}

/**
 * A lock over grant keys, shared by every manager that must not refresh the same grant at once.
 *
 * @example
 * ```ts
 * await lock.withLock('user-42', async (lease) => {
 *   // at most one holder per key; stop when lease.signal aborts
 * }, { signal });
 * ```
 */
export interface GrantLock {
  /**
   * Runs `fn` while holding the lock of `key`, and releases it when `fn` settles. Waits while another
   * holder has it; rejects when `options.signal` aborts first or the lock cannot be taken.
   */
  withLock<T>(key: string, fn: (lease: Lease) => Promise<T>, options?: WithLockOptions): Promise<T>;
  /** Releases resources the lock opened itself. */
  close?(): Promise<void>;
}

/**
 * A lock for one process: callers for the same key run one after the other, in arrival order.
 *
 * @example
 * ```ts
 * const lock = createInProcessLock();
 * await lock.withLock('user-42', async () => refresh());
 * ```
 */
export function createInProcessLock(): GrantLock {
  const tails = new Map<string, Promise<void>>();
  return {
    async withLock(key, fn, options = {}) {
      const previous = tails.get(key) ?? Promise.resolve();
      let release!: () => void;
      const current = new Promise<void>((resolve) => {
        release = resolve;
      });
      const tail = previous.then(() => current);
      tails.set(key, tail);
      try {
        await raceSignal(previous, options.signal);
        const controller = new AbortController();
        const onAbort = (): void => controller.abort(options.signal?.reason);
        options.signal?.addEventListener('abort', onAbort, { once: true });
        try {
          return await fn({ signal: controller.signal, remainingMs: () => Number.POSITIVE_INFINITY });
        } finally {
          options.signal?.removeEventListener('abort', onAbort);
        }
      } finally {
        release();
        // Forget the key only once everyone queued before us is done too.
        void tail.then(() => {
          if (tails.get(key) === tail) tails.delete(key);
        });
      }
    },
  };
}

/**
 * The same lock with every key prefixed, so managers of different providers sharing one lock never
 * wait for each other's grants. `close` closes the underlying lock.
 *
 * @example
 * ```ts
 * const lock = withKeyPrefix(createInProcessLock(), 'tenant-a:');
 * ```
 */
export function withKeyPrefix(lock: GrantLock, prefix: string): GrantLock {
  if (prefix === '') return lock;
  return {
    withLock: (key, fn, options) => lock.withLock(`${prefix}${key}`, fn, options),
    ...(lock.close !== undefined ? { close: () => lock.close!() } : {}),
  };
}
