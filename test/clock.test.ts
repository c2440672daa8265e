/**
 * One injected clock governs deadlines, not only decisions: a test's `monotonicMs` decides when a lock
 * wait times out and how much of a lease is left, and its `wallMs` dates the SQLite lock's leases.
 * Each assertion would fail if the code read `performance.now()` or `Date.now()` directly.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createSqliteLock, createTokenManager, LockError, type Clock } from 'offline-tokens';

let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'offline-tokens-clock-'));
});

after(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

/** A clock the test moves by hand; it counts how often the lock asked for wall time (one per lease request). */
function manualClock(): Clock & { advance(ms: number): void; wallReads: number } {
  let monotonic = 0;
  const clock = {
    wallReads: 0,
    wallMs: () => {
      clock.wallReads++;
      return Date.UTC(2026, 0, 1);
    },
    monotonicMs: () => monotonic,
    advance: (ms: number) => {
      monotonic += ms;
    },
  };
  return clock;
}

test('the lock wait times out when the injected monotonic clock says so, not the real one', async () => {
  const database = join(dir, 'wait.sqlite');
  const holder = createSqliteLock({ database });
  const clock = manualClock();
  // An hour of acquire timeout: by the real clock this caller would poll for an hour.
  const waiter = createSqliteLock({ database, acquireTimeoutMs: 3_600_000, clock });
  let release!: () => void;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  let taken!: () => void;
  const isTaken = new Promise<void>((resolve) => {
    taken = resolve;
  });
  const holding = holder.withLock('k', async () => {
    taken();
    await held;
  });
  await isTaken;
  // The waiter asks for the lease (one wall-time read each); once it asked, an hour passes on its clock.
  // If the wait ignored the clock, it would go on polling: stop it after 50 requests with another error.
  const stop = new AbortController();
  const watch = setInterval(() => {
    if (clock.wallReads >= 1) clock.advance(3_600_000);
    if (clock.wallReads > 50) stop.abort(new Error('still waiting after 50 lease requests: the wait did not follow the injected clock'));
  }, 1);
  try {
    await assert.rejects(waiter.withLock('k', async () => {}, { signal: stop.signal }), (error: unknown) => {
      assert.ok(error instanceof LockError, String(error));
      assert.match(error.message, /within 3600000 ms/);
      return true;
    });
  } finally {
    clearInterval(watch);
    release();
    await holding;
    await Promise.all([holder.close?.(), waiter.close?.()]);
  }
});

test("a lease's remaining time is counted on the injected monotonic clock", async () => {
  const clock = manualClock();
  const lock = createSqliteLock({ database: join(dir, 'lease.sqlite'), leaseTtlMs: 30_000, clock });
  try {
    await lock.withLock('k', async (lease) => {
      // The clock stands still: the whole lease is left, however long the real request took.
      assert.equal(lease.remainingMs(), 30_000);
      clock.advance(30_001);
      assert.equal(lease.remainingMs(), -1);
    });
  } finally {
    await lock.close?.();
  }
});

test('the `now` option accepts a clock, a bare function (as before), and refuses anything else', async () => {
  const base = { issuer: 'https://issuer.example', clientId: 'c', clientSecret: 's', redirectUri: 'https://app.example/callback', sqlitePath: ':memory:' };
  for (const now of [manualClock(), () => 0]) {
    const tokens = await createTokenManager({ ...base, now });
    await tokens.close();
  }
  await assert.rejects(createTokenManager({ ...base, now: { wallMs: () => 0 } as unknown as Clock }), /`now`/);
});
