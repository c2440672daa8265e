/**
 * The lock contract: what every {@link GrantLock} must do, as a `node:test` suite. The SDK runs it
 * against each of its own locks; run it against yours.
 * @module
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigurationError, LockError } from '../errors.ts';
import type { LeaseLockOptions } from '../locks/lease.ts';
import type { GrantLock, Lease } from '../locks/lock.ts';
import { bool, nonEmptyString } from '../util/validate.ts';

/**
 * The lock under test, for {@link runLockContract}.
 *
 * @example
 * ```ts
 * const subject: LockContractSubject = {
 *   name: 'my backend',
 *   open: (options) => createLeaseLock(new MyLeaseBackend(process.env.MY_URL!), options),
 * };
 * ```
 */
export interface LockContractSubject {
  /** Names the suite: `lock contract: <name>`. */
  name: string;
  /**
   * Opens a lock over the same keys as every other lock opened here, as another process would: the
   * suite opens several and expects them to exclude each other. Pass `options` on to the lock: the
   * suite sets `acquireTimeoutMs: 0` for callers that must not wait, `leaseTtlMs` to watch renewal,
   * and a short `retryDelayMs`. A lock that lives in one process returns the same instance every
   * time. The suite closes every lock it opened once it is done.
   */
  open(options?: LeaseLockOptions): GrantLock | Promise<GrantLock>;
  /**
   * Whether the lock holds leases that expire unless renewed (every lock built with `createLeaseLock`):
   * `lease.remainingMs()` is then finite and the lease must be renewed while the callback runs.
   * `false` for a lock that lives in one process, whose `remainingMs()` is `Infinity`. Default `true`.
   */
  leased?: boolean;
}

/** Lease TTL of the renewal tests: the shortest a lease lock accepts, so they run fast. */
const LEASE_TTL_MS = 1_000;

/**
 * Registers the lock contract as a `node:test` suite named `lock contract: <name>`: one holder per
 * key among concurrent callers on several lock instances, no blocking across keys, release when the
 * callback throws, aborting a wait with `signal.reason` without leaving anything behind, and (for
 * leased locks) a finite lease that is renewed while the callback runs. Call it at the top level of
 * a test file run with `node --test`.
 *
 * @example
 * ```ts
 * // test/my-lock.test.ts, run with `node --test`
 * import { createLeaseLock } from 'offline-tokens';
 * import { runLockContract } from 'offline-tokens/testing';
 *
 * runLockContract({
 *   name: 'my backend',
 *   open: (options) => createLeaseLock(new MyLeaseBackend(process.env.MY_URL!), options),
 * });
 * ```
 */
export function runLockContract(subject: LockContractSubject): void {
  const name = nonEmptyString(subject?.name, 'name');
  if (typeof subject.open !== 'function') throw new ConfigurationError('Expected `open` to be a function');
  const leased = bool(subject.leased, 'leased', true);

  describe(`lock contract: ${name}`, () => {
    const opened = new Set<GrantLock>();

    /** A lock over the same keys, as another process would open it. */
    async function open(options: LeaseLockOptions = {}): Promise<GrantLock> {
      const lock = await subject.open({ retryDelayMs: 5, ...options });
      opened.add(lock);
      return lock;
    }

    const newKey = (): string => `${name}-${randomUUID()}`;

    after(async () => {
      for (const lock of opened) await lock.close?.();
    });

    test('one holder per key among 50 concurrent callers on several lock instances', async () => {
      const locks = await Promise.all(Array.from({ length: 5 }, () => open()));
      const key = newKey();
      let active = 0;
      let maxActive = 0;
      let completed = 0;
      await Promise.all(Array.from({ length: 50 }, (_, i) => locks[i % locks.length]!.withLock(key, async () => {
        active++;
        maxActive = Math.max(maxActive, active);
        await sleep(Math.random() * 2);
        active--;
        completed++;
      })));
      assert.equal(maxActive, 1);
      assert.equal(completed, 50);
    });

    test('different keys do not block each other', async () => {
      const lock = await open();
      const other = await open({ acquireTimeoutMs: 0 });
      const holder = hold(lock, newKey());
      await holder.entered;
      assert.equal(await other.withLock(newKey(), async () => 'other instance'), 'other instance');
      assert.equal(await lock.withLock(newKey(), async () => 'same instance'), 'same instance');
      holder.release();
      await holder.done;
    });

    test('releases the lock when the callback throws', async () => {
      const lock = await open();
      const key = newKey();
      const failure = new Error('callback failed');
      await assert.rejects(lock.withLock(key, async () => {
        throw failure;
      }), (error) => error === failure);
      // Free at once: a caller that does not wait at all gets it.
      const impatient = await open({ acquireTimeoutMs: 0 });
      assert.equal(await impatient.withLock(key, async () => 'next'), 'next');
    });

    test('a caller waiting for the lock rejects with signal.reason when its signal aborts', async () => {
      const lock = await open();
      const other = await open();
      for (const sameInstance of [true, false]) {
        const key = newKey();
        const holder = hold(lock, key);
        await holder.entered;
        const controller = new AbortController();
        const reason = new Error('stop waiting');
        let ran = false;
        const waiting = (sameInstance ? lock : other).withLock(key, async () => {
          ran = true;
        }, { signal: controller.signal });
        await sleep(30); // let it wait (in the queue, or polling the backend)
        controller.abort(reason);
        await assert.rejects(waiting, (error) => error === reason);
        assert.equal(ran, false);
        holder.release();
        await holder.done;
        // Nothing was left behind by the caller that gave up.
        const impatient = await open({ acquireTimeoutMs: 0 });
        assert.equal(await impatient.withLock(key, async () => 'free'), 'free');
      }
    });

    test('a caller that gave up waiting does not let the next caller in while the lock is held', async () => {
      const lock = await open();
      const key = newKey();
      const holder = hold(lock, key);
      await holder.entered;
      const controller = new AbortController();
      const gaveUp = lock.withLock(key, async () => 'never', { signal: controller.signal });
      await sleep(30);
      controller.abort(new Error('stop waiting'));
      await assert.rejects(gaveUp);
      let holderDone = false;
      const next = lock.withLock(key, async () => holderDone);
      await sleep(30);
      holderDone = true;
      holder.release();
      await holder.done;
      assert.equal(await next, true, 'the next caller ran only after the holder released');
    });

    test('lease.remainingMs() is finite for a leased lock, Infinity in process', async () => {
      const lock = await open({ leaseTtlMs: LEASE_TTL_MS });
      const remainingMs = await lock.withLock(newKey(), async (lease) => lease.remainingMs());
      if (leased) {
        assert.ok(Number.isFinite(remainingMs), `remainingMs ${remainingMs}`);
        assert.ok(remainingMs > 0 && remainingMs <= LEASE_TTL_MS, `remainingMs ${remainingMs}`);
      } else {
        assert.equal(remainingMs, Number.POSITIVE_INFINITY);
      }
    });

    // Only leases expire and need renewing.
    if (leased) test('the lease is renewed: it is held beyond leaseTtlMs while the callback runs', async () => {
      const first = await open({ leaseTtlMs: LEASE_TTL_MS });
      const second = await open({ leaseTtlMs: LEASE_TTL_MS });
      const key = newKey();
      let firstFinished = false;
      let remainingAfterTtlMs = Number.NaN;
      const { promise: entered, resolve: enter } = deferred<Lease>();
      const holding = first.withLock(key, async (lease) => {
        enter(lease);
        await sleep(LEASE_TTL_MS * 2.5);
        remainingAfterTtlMs = lease.remainingMs();
        firstFinished = true;
      });
      const lease = await entered;
      // Waits (polling the backend) until the first holder is done, not until its first TTL ran out.
      const sawFirstFinished = await second.withLock(key, async () => firstFinished);
      await holding;
      assert.equal(sawFirstFinished, true);
      assert.ok(remainingAfterTtlMs > 0, `renewed: ${remainingAfterTtlMs} ms left after 2.5 TTLs`);
      assert.ok(lease.signal.aborted, 'the lease signal aborts when it is released');
      assert.ok(lease.signal.reason instanceof LockError && /released/.test(lease.signal.reason.message), String(lease.signal.reason));
    });
  });
}

/** Holds `key` on `lock` until `release()` is called. */
function hold(lock: GrantLock, key: string): { entered: Promise<Lease>; release(): void; done: Promise<void> } {
  const { promise: entered, resolve: enter } = deferred<Lease>();
  const { promise: released, resolve: release } = deferred<void>();
  const done = lock.withLock(key, async (lease) => {
    enter(lease);
    await released;
  });
  return { entered, release: () => release(), done };
}

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((settle) => {
    resolve = settle;
  });
  return { promise, resolve };
}
