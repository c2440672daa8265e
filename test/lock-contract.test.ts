/**
 * One lock contract, run against every lock: in-process, SQLite (a temp file), Redis and PostgreSQL
 * (real servers started for this file). Cross-process behaviour is proven with real child processes.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { createClient } from 'redis';
import { LockError } from '../src/errors.ts';
import type { LeaseLockOptions } from '../src/lease-lock.ts';
import { createInProcessLock, type GrantLock, type Lease } from '../src/lock.ts';
import { createPostgresLock } from '../src/postgres-lock.ts';
import { createRedisLock } from '../src/redis-lock.ts';
import { openLock, type LockBackendSpec, type LockWorkerTask } from './support/lock-worker.ts';
import { startPostgres, startRedis, type PostgresServer, type RedisServer } from './support/servers.ts';

const workerPath = join(import.meta.dirname, 'support', 'lock-worker.ts');
const LEASE_TTL_MS = 1_000;

let redis: RedisServer;
let postgres: PostgresServer;
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'offline-tokens-locks-'));
  [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
});

after(async () => {
  await Promise.all([redis?.stop(), postgres?.stop()]);
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

interface LockSubject {
  name: string;
  /** Where a lease lock keeps its leases; `undefined` for the in-process lock. Read once the servers run. */
  backend(): LockBackendSpec | undefined;
}

const subjects: LockSubject[] = [
  { name: 'in-process', backend: () => undefined },
  { name: 'sqlite', backend: () => ({ kind: 'sqlite', path: join(dir, 'locks.sqlite') }) },
  { name: 'redis', backend: () => ({ kind: 'redis', url: redis.url }) },
  { name: 'postgres', backend: () => ({ kind: 'postgres', connectionString: postgres.connectionString }) },
];

for (const subject of subjects) {
  describe(`lock contract: ${subject.name}`, () => lockContract(subject));
}

function lockContract(subject: LockSubject): void {
  const leased = subject.name !== 'in-process';
  const inProcess = createInProcessLock();
  const opened: GrantLock[] = [];

  /** A lock over the same keys, as another process would open it (the in-process lock has only one). */
  async function open(options: LeaseLockOptions = {}): Promise<GrantLock> {
    const backend = subject.backend();
    if (backend === undefined) return inProcess;
    const lock = await openLock(backend, { retryDelayMs: 5, ...options });
    opened.push(lock);
    return lock;
  }

  const newKey = (): string => `${subject.name}-${randomUUID()}`;

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

  // Leases and other processes exist only for the shared locks.
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

  if (leased) test('a holder that dies keeps the lease until it expires, then another process takes over', async () => {
    const key = newKey();
    const child = startWorker({ backend: subject.backend()!, key, mode: 'hold', lockOptions: { leaseTtlMs: LEASE_TTL_MS } });
    try {
      await waitForLine(child, 'held');
      const impatient = await open({ acquireTimeoutMs: 0 });
      // Alive past its TTL: the child renews its lease.
      await sleep(LEASE_TTL_MS * 1.5);
      await assert.rejects(impatient.withLock(key, async () => 'stolen'), isLockUnavailable);
      child.kill('SIGKILL');
      await once(child, 'exit');
      // Dead, but its lease has not run out yet: still nobody else.
      await assert.rejects(impatient.withLock(key, async () => 'stolen'), isLockUnavailable);
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await once(child, 'exit');
      }
    }
    const patient = await open();
    assert.equal(await patient.withLock(key, async () => 'taken over'), 'taken over');
  });

  if (leased) test('two processes incrementing a shared counter under the lock lose no update', async () => {
    const counterFile = join(dir, `counter-${randomUUID()}`);
    await writeFile(counterFile, '0');
    const key = newKey();
    const times = 40;
    const children = [0, 1].map(() => startWorker({ backend: subject.backend()!, key, mode: 'increment', counterFile, times, lockOptions: { retryDelayMs: 5 } }));
    const exits = await Promise.all(children.map(async (child) => (await once(child, 'exit'))[0]));
    assert.deepEqual(exits, [0, 0]);
    assert.equal(Number(await readFile(counterFile, 'utf8')), times * 2);
  });
}

describe('Redis lock connections', () => {
  test('a client passed in is used and never closed by the lock', async () => {
    const client = createClient({ url: redis.url });
    await client.connect();
    try {
      const lock = createRedisLock({ client }, { keyPrefix: 'custom:' });
      const key = randomUUID();
      const stored = await lock.withLock(key, async () => client.get(`custom:${key}`));
      assert.equal(typeof stored, 'string', 'the lease lives under the key prefix');
      assert.equal(await client.get(`custom:${key}`), null, 'released');
      await lock.close?.();
      assert.equal(client.isReady, true);
      assert.equal(await client.ping(), 'PONG');
    } finally {
      await client.close();
    }
  });

  test('an unreachable Redis fails withLock with LockError', async () => {
    const lock = createRedisLock({ url: `redis://127.0.0.1:${await closedPort()}` }, { commandTimeoutMs: 200, acquireTimeoutMs: 0 });
    await assert.rejects(lock.withLock('k', async () => 'never'), isLockUnavailable);
    await lock.close?.();
  });

  test('a Redis that stops answering fails withLock with LockError, and the same lock works once it answers', async () => {
    const lock = createRedisLock({ url: redis.url }, { commandTimeoutMs: 200, acquireTimeoutMs: 0 });
    const key = randomUUID();
    try {
      assert.equal(await lock.withLock(key, async () => 'before'), 'before');
      redis.freeze();
      try {
        await assert.rejects(lock.withLock(key, async () => 'never'), isLockUnavailable);
      } finally {
        redis.thaw();
      }
      // The SET that timed out lands after the thaw, and so does the release sent after it: the key is free.
      assert.equal(await lock.withLock(key, async () => 'after'), 'after');
    } finally {
      await lock.close?.();
    }
  });

  test('a lock that was never used closes at once', async () => {
    await createRedisLock({ url: redis.url }).close?.();
  });
});

describe('PostgreSQL lock connections', () => {
  test('a pool passed in is used and never ended by the lock', async () => {
    const pool = new pg.Pool({ connectionString: postgres.connectionString });
    try {
      const lock = createPostgresLock({ pool }, { table: 'custom_locks' });
      const key = randomUUID();
      const owners = await lock.withLock(key, async () => (await pool.query('SELECT owner FROM custom_locks WHERE key = $1', [key])).rowCount);
      assert.equal(owners, 1, 'the lease lives in the configured table');
      assert.equal((await pool.query('SELECT owner FROM custom_locks WHERE key = $1', [key])).rowCount, 0, 'released');
      await lock.close?.();
      assert.equal((await pool.query('SELECT 1 AS one')).rows[0].one, 1);
    } finally {
      await pool.end();
    }
  });

  test('a lease row expires leaseTtlMs after the database clock\'s now()', async () => {
    const pool = new pg.Pool({ connectionString: postgres.connectionString });
    try {
      const lock = createPostgresLock({ pool }, { leaseTtlMs: 60_000 });
      const key = randomUUID();
      const row = await lock.withLock(key, async () => (await pool.query(
        'SELECT extract(epoch FROM expires_at - now()) * 1000 AS left_ms FROM offline_tokens_locks WHERE key = $1',
        [key],
      )).rows[0]);
      const leftMs = Number(row.left_ms);
      assert.ok(leftMs > 0 && leftMs <= 60_000, `expires ${leftMs} ms after the database's now()`);
      await lock.close?.();
    } finally {
      await pool.end();
    }
  });

  test('an unreachable database fails withLock with LockError', async () => {
    const lock = createPostgresLock({ connectionString: `postgresql://postgres@127.0.0.1:${await closedPort()}/x` }, { queryTimeoutMs: 500, acquireTimeoutMs: 0 });
    await assert.rejects(lock.withLock('k', async () => 'never'), isLockUnavailable);
    await lock.close?.();
  });

  test('a lock that was never used closes at once', async () => {
    await createPostgresLock({ connectionString: postgres.connectionString }).close?.();
  });
});

function isLockUnavailable(error: unknown): boolean {
  return error instanceof LockError && error.code === 'ERR_LOCK_UNAVAILABLE';
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

function startWorker(task: LockWorkerTask) {
  return spawn(process.execPath, ['--conditions=source', workerPath, JSON.stringify(task)], { stdio: ['ignore', 'pipe', 'inherit'] });
}

async function waitForLine(child: ReturnType<typeof startWorker>, line: string): Promise<void> {
  let output = '';
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`The worker exited (${code}) before printing ${line}: ${output}`);
  });
  const printed = new Promise<void>((resolve) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.split('\n').includes(line)) resolve();
    });
  });
  await Promise.race([printed, exited]);
  exited.catch(() => {});
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
