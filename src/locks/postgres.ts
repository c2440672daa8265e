/**
 * A lease lock in a PostgreSQL table, for processes and hosts sharing a database. Import from
 * `offline-tokens/postgres`; it needs the `pg` package.
 * @module
 */
import { Pool } from 'pg';
import { Deadlines } from '../util/deadlines.ts';
import { statementName } from '../util/statement-name.ts';
import { ConfigurationError } from '../errors.ts';
import { createLeaseLock, WITH_PREFETCH, type LeaseBackend, type LeaseLockOptions, type WithPrefetch } from './lease.ts';
import type { GrantLock } from './lock.ts';
import { duration } from '../util/validate.ts';
import type { CompareAndSetResult } from '../util/compare-and-set.ts';

/**
 * What the lock needs of a `pg` pool (a `pg.Client` works too).
 *
 * @example
 * ```ts
 * import pg from 'pg';
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * const lock = createPostgresLock({ pool });
 * ```
 */
export interface PostgresLockPool {
  /** Runs one parameterized statement. */
  query(text: string, values?: unknown[]): Promise<{
    /** Rows the statement changed or returned. */
    rowCount: number | null;
    /** Rows returned. */
    rows?: unknown[];
  }>;
}

/**
 * Where the lock keeps its leases: a connection string (the lock opens and ends its own pool) or your pool.
 *
 * @example
 * ```ts
 * const lock = createPostgresLock({ connectionString: process.env.DATABASE_URL! }); // or { pool }
 * ```
 */
export type PostgresLockConnection =
  | {
      /** A PostgreSQL connection string: the lock opens its own small pool and `close()` ends it. */
      connectionString: string;
    }
  | {
      /** Your `pg` pool (or client), never ended by the lock. */
      pool: PostgresLockPool;
    };

/**
 * Options of {@link createPostgresLock}.
 *
 * @example
 * ```ts
 * const lock = createPostgresLock({ connectionString: process.env.DATABASE_URL!, table: 'auth.token_locks', queryTimeoutMs: 2_000 });
 * ```
 */
export interface PostgresLockOptions extends LeaseLockOptions {
  /** Table of the leases, created when missing; may be schema-qualified. Default `offline_tokens_locks`. */
  table?: string;
  /** Longest wait for one query (connecting included) before it counts as failed. Default 5 000. */
  queryTimeoutMs?: number;
}

/**
 * Creates a lock whose leases are rows of a PostgreSQL table
 * (`key text primary key, owner text, expires_at timestamptz`), created on first use. Expiry uses the
 * database's clock (`now()`), so hosts with skewed clocks agree on when a lease ran out. With
 * `{ connectionString }` the lock opens a small pool that `close()` ends; a `{ pool }` you pass is
 * never ended by the lock.
 *
 * @example
 * ```ts
 * import { createPostgresLock } from 'offline-tokens/postgres';
 * const lock = createPostgresLock({ connectionString: process.env.DATABASE_URL });
 * const tokens = createTokenManager({ ...options, store, lock });
 * ```
 */
export function createPostgresLock(connection: PostgresLockConnection, options: PostgresLockOptions = {}): GrantLock {
  if (typeof connection !== 'object' || connection === null) {
    throw new ConfigurationError('Expected a PostgreSQL connection: `{ connectionString }` or `{ pool }`');
  }
  const table = options.table ?? 'offline_tokens_locks';
  if (typeof table !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$/.test(table)) {
    throw new ConfigurationError('Expected `table` to be a plain SQL identifier, optionally schema-qualified');
  }
  const queryTimeoutMs = duration(options.queryTimeoutMs, 'queryTimeoutMs', 5_000, 1);
  let pool: PostgresLockPool;
  /** The lock's own `pg` pool: its statements are prepared once per connection (named), not parsed and planned per query. */
  let own: Pool | undefined;
  let end: () => Promise<void>;
  if ('pool' in connection) {
    if (typeof connection.pool?.query !== 'function') throw new ConfigurationError('Expected `pool` to be a pg Pool');
    pool = connection.pool;
    end = async () => {};
  } else {
    if (typeof connection.connectionString !== 'string' || connection.connectionString.length === 0) {
      throw new ConfigurationError('Expected `connectionString` to be a PostgreSQL connection string');
    }
    const created = new Pool({ connectionString: connection.connectionString, max: 4, connectionTimeoutMillis: queryTimeoutMs });
    // An idle connection dropped by the server is reported here; the next query reconnects.
    created.on('error', () => {});
    pool = created;
    own = created;
    let ended: Promise<void> | undefined;
    end = () => (ended ??= created.end());
  }

  let ready: Promise<void> | undefined;
  const ensureTable = (): Promise<void> => (ready ??= pool.query(
    `CREATE TABLE IF NOT EXISTS ${table} (key text PRIMARY KEY, owner text NOT NULL, expires_at timestamptz NOT NULL)`,
  ).then(
    () => undefined,
    (error: unknown) => {
      // Two processes creating the table at once: one of them gets a unique violation on the catalog
      // (23505), "relation exists" (42P07) or "type exists" (42710, the table's row type).
      const code = (error as { code?: unknown }).code;
      if (code === '23505' || code === '42P07' || code === '42710') return;
      ready = undefined;
      throw error;
    },
  ));
  // A query that hangs (database stuck, network partition) fails after queryTimeoutMs.
  // One shared deadline timer, not an AbortSignal.timeout (a timer, a signal and a listener) per query.
  const deadlines = new Deadlines(queryTimeoutMs);
  const timedOut = (): Error => new Error(`A PostgreSQL lock query did not finish within ${queryTimeoutMs} ms`);
  // On the lock's own pool, each statement is named by a digest of its text: prepared once per connection.
  const query = (text: string, values: unknown[]): Promise<{ rowCount: number | null; rows?: unknown[] }> =>
    deadlines.race(ensureTable().then(() => (own === undefined ? pool.query(text, values) : own.query({ name: statementName(text), text, values }))), timedOut);

  const backend: LeaseBackend = {
    async tryAcquire(key, owner, ttlMs) {
      const result = await query(
        `INSERT INTO ${table} AS held (key, owner, expires_at) VALUES ($1, $2, now() + $3::double precision * interval '1 millisecond')
         ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at WHERE held.expires_at < now()
         RETURNING owner`,
        [key, owner, ttlMs],
      );
      return result.rowCount === 1;
    },
    async renew(key, owner, ttlMs) {
      const result = await query(
        `UPDATE ${table} SET expires_at = now() + $3::double precision * interval '1 millisecond' WHERE key = $1 AND owner = $2`,
        [key, owner, ttlMs],
      );
      return result.rowCount === 1;
    },
    async release(key, owner) {
      await query(`DELETE FROM ${table} WHERE key = $1 AND owner = $2`, [key, owner]);
    },
    close: () => end(),
  };
  const lock = createLeaseLock(backend, options);
  const withPrefetch: WithPrefetch = (adapter, recordKey) => {
    // Only a @keyv/postgres store in this very database: one statement takes the lease and reads.
    const store = adapter as { opts?: { dialect?: unknown; uri?: unknown; schema?: unknown; table?: unknown } };
    if (store.opts?.dialect !== 'postgres' || !('connectionString' in connection) || store.opts.uri !== connection.connectionString) return undefined;
    const { schema, table: storeTable } = store.opts;
    if (typeof schema !== 'string' || typeof storeTable !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(schema) || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(storeTable)) return undefined;
    const fused: LeaseBackend = {
      ...backend,
      async tryAcquireAndRead(key, owner, ttlMs, readKey, mark) {
        // `value` is read in the statement's snapshot: the record before any mark.
        const result = await query(
          `WITH acquired AS (
             INSERT INTO ${table} AS held (key, owner, expires_at) VALUES ($1, $2, now() + $3::double precision * interval '1 millisecond')
             ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at WHERE held.expires_at < now()
             RETURNING owner),
           marked AS (
             UPDATE ${schema}.${storeTable} SET value = $6::text
             WHERE key = $4 AND $5::text IS NOT NULL AND value = $5::text AND EXISTS (SELECT 1 FROM acquired)
             RETURNING 1)
           SELECT (SELECT count(*) FROM acquired)::int AS acquired, (SELECT value FROM ${schema}.${storeTable} WHERE key = $4) AS value,
             (SELECT count(*) FROM marked)::int AS marked`,
          [key, owner, ttlMs, readKey, mark?.expected ?? null, mark?.next ?? null],
        ) as { rowCount: number | null; rows?: Array<{ acquired: number; value: string | null; marked: number }> };
        const row = result.rows?.[0];
        return row?.acquired === 1 ? { acquired: true, value: typeof row.value === 'string' ? row.value : null, marked: row.marked === 1 } : { acquired: false, value: null };
      },
      // `current` is read in the statement's snapshot: when nothing was written, it is what blocked the write.
      async compareAndSetAndRelease(key, owner, recordKey, expected, next) {
        return casResult(await query(
          `WITH written AS (UPDATE ${schema}.${storeTable} SET value = $3 WHERE key = $1 AND value = $2 RETURNING 1),
           released AS (DELETE FROM ${table} WHERE key = $4 AND owner = $5 AND EXISTS (SELECT 1 FROM written) RETURNING 1)
           SELECT (SELECT count(*) FROM written)::int AS written, (SELECT value FROM ${schema}.${storeTable} WHERE key = $1) AS current, (SELECT count(*) FROM released)::int AS released`,
          [recordKey, expected, next, key, owner],
        ));
      },
    };
    return createLeaseLock(fused, { ...options, prefetch: recordKey });
  };
  return Object.assign(lock, { [WITH_PREFETCH]: withPrefetch });
}

/** A compare-and-set statement's row (`written`, `current`) as a result. */
function casResult(result: { rows?: unknown[] }): CompareAndSetResult {
  const row = result.rows?.[0] as { written?: number; current?: unknown } | undefined;
  return row?.written === 1 ? { ok: true } : { ok: false, current: typeof row?.current === 'string' ? row.current : undefined };
}
