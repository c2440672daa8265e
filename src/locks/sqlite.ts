/**
 * A lease lock in a SQLite file, for several processes on one host sharing the default store.
 * @module
 */
import type { DatabaseSync } from 'node:sqlite';
import { createLeaseLock, type LeaseLockOptions } from './lease.ts';
import type { GrantLock } from './lock.ts';
import { toClock } from '../util/clock.ts';

/**
 * Options of {@link createSqliteLock}.
 *
 * @example
 * ```ts
 * const lock = createSqliteLock({ database: './tokens.sqlite', leaseTtlMs: 60_000 });
 * ```
 */
export interface SqliteLockOptions extends LeaseLockOptions {
  /** An open database (the default store's), or a path to open. */
  database: DatabaseSync | string;
}

/**
 * Creates a lock whose leases live in a SQLite table, safe across processes sharing the file.
 *
 * @example
 * ```ts
 * const lock = createSqliteLock({ database: './tokens.sqlite' });
 * ```
 */
export function createSqliteLock(options: SqliteLockOptions): GrantLock {
  const owned = typeof options.database === 'string';
  // Loaded on first use: importing `node:sqlite` prints an ExperimentalWarning on Node 22.
  const database = typeof options.database === 'string' ? new (process.getBuiltinModule('node:sqlite').DatabaseSync)(options.database, { timeout: 5_000 }) : options.database;
  if (owned) database.exec('PRAGMA journal_mode = WAL');
  database.exec('CREATE TABLE IF NOT EXISTS offline_tokens_locks (key TEXT PRIMARY KEY, owner TEXT NOT NULL, expires INTEGER NOT NULL)');
  const acquire = database.prepare(
    `INSERT INTO offline_tokens_locks (key, owner, expires) VALUES (?, ?, ?)
     ON CONFLICT(key) DO UPDATE SET owner = excluded.owner, expires = excluded.expires WHERE offline_tokens_locks.expires < ?`,
  );
  const renew = database.prepare('UPDATE offline_tokens_locks SET expires = ? WHERE key = ? AND owner = ?');
  const release = database.prepare('DELETE FROM offline_tokens_locks WHERE key = ? AND owner = ?');
  const clock = toClock(options.clock, 'clock');
  return createLeaseLock({
    async tryAcquire(key, owner, ttlMs) {
      const now = clock.wallMs();
      return Number(acquire.run(key, owner, now + ttlMs, now).changes) > 0;
    },
    async renew(key, owner, ttlMs) {
      return Number(renew.run(clock.wallMs() + ttlMs, key, owner).changes) > 0;
    },
    async release(key, owner) {
      release.run(key, owner);
    },
    async close() {
      if (owned && database.isOpen) database.close();
    },
  }, options);
}
