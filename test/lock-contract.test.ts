/**
 * The lock contract (`offline-tokens/testing`), run against every lock: in-process, SQLite (a temp
 * file), Redis and PostgreSQL (real servers started for this file). Cross-process behaviour is proven
 * here with real child processes, and each server lock's own connection handling and failures.
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
import { createInProcessLock, LockError, type GrantLock, type LeaseLockOptions } from 'offline-tokens';
import { createPostgresLock } from 'offline-tokens/postgres';
import { createRedisLock } from 'offline-tokens/redis';
import { runLockContract } from 'offline-tokens/testing';
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

interface LeaseBackendSubject {
  name: string;
  /** Where the lease lock keeps its leases. Read once the servers run. */
  backend(): LockBackendSpec;
}

const leaseBackends: LeaseBackendSubject[] = [
  { name: 'sqlite', backend: () => ({ kind: 'sqlite', path: join(dir, 'locks.sqlite') }) },
  { name: 'redis', backend: () => ({ kind: 'redis', url: redis.url }) },
  { name: 'postgres', backend: () => ({ kind: 'postgres', connectionString: postgres.connectionString }) },
];

const inProcess = createInProcessLock();
runLockContract({ name: 'in-process', open: () => inProcess, leased: false });

for (const subject of leaseBackends) {
  runLockContract({ name: subject.name, open: (options) => openLock(subject.backend(), options) });
  describe(`lock across processes: ${subject.name}`, () => crossProcessTests(subject));
}

function crossProcessTests(subject: LeaseBackendSubject): void {
  const opened: GrantLock[] = [];

  /** A lock over the same keys, in this process. */
  async function open(options: LeaseLockOptions = {}): Promise<GrantLock> {
    const lock = await openLock(subject.backend(), { retryDelayMs: 5, ...options });
    opened.push(lock);
    return lock;
  }

  const newKey = (): string => `${subject.name}-${randomUUID()}`;

  after(async () => {
    for (const lock of opened) await lock.close?.();
  });

  test('a holder that dies keeps the lease until it expires, then another process takes over', async () => {
    const key = newKey();
    const child = startWorker({ backend: subject.backend(), key, mode: 'hold', lockOptions: { leaseTtlMs: LEASE_TTL_MS } });
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

  test('two processes incrementing a shared counter under the lock lose no update', async () => {
    const counterFile = join(dir, `counter-${randomUUID()}`);
    await writeFile(counterFile, '0');
    const key = newKey();
    const times = 40;
    const children = [0, 1].map(() => startWorker({ backend: subject.backend(), key, mode: 'increment', counterFile, times, lockOptions: { retryDelayMs: 5 } }));
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
    // On a loaded machine a command (the first one connects) may exceed the 200 ms command timeout
    // while Redis does answer: the lock must work once Redis answers in time.
    const whenAnswered = async (value: string): Promise<string | undefined> => {
      let result: string | undefined;
      for (let attempt = 0; attempt < 50 && result === undefined; attempt++) {
        result = await lock.withLock(key, async () => value).catch(async (error: unknown) => {
          assert.ok(isLockUnavailable(error), String(error));
          await sleep(100);
          return undefined;
        });
      }
      return result;
    };
    try {
      assert.equal(await whenAnswered('before'), 'before');
      redis.freeze();
      try {
        await assert.rejects(lock.withLock(key, async () => 'never'), isLockUnavailable);
      } finally {
        redis.thaw();
      }
      // The SET that timed out lands after the thaw, and so does the release sent after it: the key is
      // free once Redis has worked off its backlog.
      assert.equal(await whenAnswered('after'), 'after');
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
