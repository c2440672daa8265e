/**
 * A separate process using a cross-process lock, for the lock contract tests. Run as
 * `node --conditions=source test/support/lock-worker.ts '<json>'` with a {@link LockWorkerTask}.
 *
 * - `increment`: `times` times, under the lock, reads a counter file, yields, and writes it back + 1.
 *   Without mutual exclusion across processes, updates are lost.
 * - `hold`: takes the lock, prints `held`, and keeps it (renewing) until the process is killed.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { GrantLock } from '../../src/locks/lock.ts';
import type { LeaseLockOptions } from '../../src/locks/lease.ts';

export type LockBackendSpec =
  | { kind: 'sqlite'; path: string }
  | { kind: 'redis'; url: string }
  | { kind: 'postgres'; connectionString: string };

export type LockWorkerTask =
  & { backend: LockBackendSpec; key: string; lockOptions?: LeaseLockOptions }
  & ({ mode: 'increment'; counterFile: string; times: number } | { mode: 'hold' });

/** Opens a lock on a backend from its description (used by the tests and the worker). */
export async function openLock(backend: LockBackendSpec, options: LeaseLockOptions = {}): Promise<GrantLock> {
  switch (backend.kind) {
    case 'sqlite': {
      const { createSqliteLock } = await import('../../src/locks/sqlite.ts');
      return createSqliteLock({ ...options, database: backend.path });
    }
    case 'redis': {
      const { createRedisLock } = await import('../../src/locks/redis.ts');
      return createRedisLock({ url: backend.url }, options);
    }
    case 'postgres': {
      const { createPostgresLock } = await import('../../src/locks/postgres.ts');
      return createPostgresLock({ connectionString: backend.connectionString }, options);
    }
  }
}

async function main(task: LockWorkerTask): Promise<void> {
  const lock = await openLock(task.backend, task.lockOptions);
  if (task.mode === 'hold') {
    await lock.withLock(task.key, async () => {
      process.stdout.write('held\n');
      setInterval(() => {}, 1 << 30); // the lease renewal timer is unref'd: stay alive until killed
      await new Promise(() => {});
    });
    return;
  }
  for (let i = 0; i < task.times; i++) {
    await lock.withLock(task.key, async () => {
      const value = Number(await readFile(task.counterFile, 'utf8'));
      await sleep(Math.random() * 2);
      await writeFile(task.counterFile, String(value + 1));
    });
  }
  await lock.close?.();
}

if (import.meta.main) {
  await main(JSON.parse(process.argv[2]!) as LockWorkerTask);
}
