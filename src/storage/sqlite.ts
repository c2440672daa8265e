/**
 * A Keyv store adapter over Node's built-in `node:sqlite`: the SDK's default store, an embedded
 * file with no native install step. Several processes on one host may share the file (WAL mode, a
 * busy timeout, and every write in its own transaction).
 * @module
 */
import { EventEmitter } from 'node:events';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import Keyv from 'keyv';
import { ConfigurationError } from '../errors.ts';
import { toClock, type Clock } from '../util/clock.ts';

/**
 * Options of {@link SqliteStore}.
 *
 * @example
 * ```ts
 * const store = new Keyv({ store: new SqliteStore({ path: './tokens.sqlite', table: 'grants', busyTimeoutMs: 10_000 }) });
 * ```
 */
export interface SqliteStoreOptions {
  /** Path of the database file, created when missing. `':memory:'` for a private in-memory database. */
  path: string;
  /** Table name. Default `offline_tokens`. */
  table?: string;
  /** How long a write waits for another process's write to finish, in ms. Default 5000. */
  busyTimeoutMs?: number;
  /** The clock whose `wallMs` dates and checks the records' TTL. Default `Date.now`. */
  clock?: Clock;
}

/**
 * A Keyv store adapter backed by a SQLite file through `node:sqlite`.
 *
 * @example
 * ```ts
 * import Keyv from 'keyv';
 * import { SqliteStore } from 'offline-tokens';
 * const store = new Keyv({ store: new SqliteStore({ path: './tokens.sqlite' }) });
 * ```
 */
export class SqliteStore extends EventEmitter {
  /** Keyv reads this to know the adapter's options. */
  readonly opts: {
    /** The SQL dialect, for Keyv. */
    dialect: 'sqlite';
    /** The database file's path. */
    url: string;
  };
  /** Set by Keyv. */
  namespace: string | undefined;
  /** The open database, for the SQLite lock that shares the file. @internal */
  readonly database: DatabaseSync;
  readonly #get: StatementSync;
  readonly #set: StatementSync;
  readonly #delete: StatementSync;
  readonly #clear: StatementSync;
  readonly #clearAll: StatementSync;
  readonly #purge: StatementSync;
  readonly #list: StatementSync;
  readonly #compareAndSet: StatementSync;
  readonly #clock: Clock;
  #writes = 0;

  constructor(options: SqliteStoreOptions) {
    super();
    const table = options.table ?? 'offline_tokens';
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(table)) throw new ConfigurationError('Expected `table` to be a plain SQL identifier');
    if (typeof options.path !== 'string' || options.path.length === 0) throw new ConfigurationError('Expected `path` to be a non-empty string');
    this.opts = { dialect: 'sqlite', url: options.path };
    this.#clock = toClock(options.clock, 'clock');
    // Loaded on first use: importing `node:sqlite` prints an ExperimentalWarning on Node 22.
    const { DatabaseSync } = process.getBuiltinModule('node:sqlite');
    this.database = new DatabaseSync(options.path, { timeout: options.busyTimeoutMs ?? 5_000 });
    this.database.exec('PRAGMA journal_mode = WAL');
    this.database.exec('PRAGMA synchronous = FULL');
    this.database.exec(`CREATE TABLE IF NOT EXISTS ${table} (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires INTEGER)`);
    this.#get = this.database.prepare(`SELECT value, expires FROM ${table} WHERE key = ?`);
    this.#set = this.database.prepare(
      `INSERT INTO ${table} (key, value, expires) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, expires = excluded.expires`,
    );
    this.#delete = this.database.prepare(`DELETE FROM ${table} WHERE key = ?`);
    this.#clear = this.database.prepare(`DELETE FROM ${table} WHERE key LIKE ? ESCAPE '\\'`);
    this.#clearAll = this.database.prepare(`DELETE FROM ${table}`);
    this.#purge = this.database.prepare(`DELETE FROM ${table} WHERE expires IS NOT NULL AND expires < ?`);
    this.#compareAndSet = this.database.prepare(`UPDATE ${table} SET value = ? WHERE key = ? AND value = ?`);
    this.#list = this.database.prepare(`SELECT key, value FROM ${table} WHERE key LIKE ? ESCAPE '\\' AND (expires IS NULL OR expires >= ?)`);
  }

  /** The value stored at `key`, `undefined` when none or expired. */
  async get(key: string): Promise<string | undefined> {
    const row = this.#get.get(key) as { value: string; expires: number | null } | undefined;
    if (row === undefined) return undefined;
    if (row.expires !== null && row.expires < this.#clock.wallMs()) return undefined;
    return row.value;
  }

  /** The values stored at `keys`, in order. */
  async getMany(keys: string[]): Promise<Array<string | undefined>> {
    return Promise.all(keys.map((key) => this.get(key)));
  }

  /** Stores `value` at `key`, expiring after `ttl` ms when given. */
  async set(key: string, value: string, ttl?: number): Promise<boolean> {
    const expires = typeof ttl === 'number' && ttl > 0 ? this.#clock.wallMs() + ttl : null;
    this.#set.run(key, value, expires);
    // Expired rows (pending authorizations never completed) are purged now and then.
    if (++this.#writes % 256 === 0) this.#purge.run(this.#clock.wallMs());
    return true;
  }

  /**
   * Writes `next` only while the stored value is exactly `expected` (one statement, atomic across the
   * processes sharing the file); otherwise answers what is stored. Used by the SDK for fenced writes.
   */
  async compareAndSet(key: string, expected: string, next: string): Promise<{
    /** Written. */
    ok: true;
  } | {
    /** Not written: the stored value was not `expected`. */
    ok: false;
    /** The value stored instead (`undefined`: none). */
    current: string | undefined;
  }> {
    if (Number(this.#compareAndSet.run(next, key, expected).changes) > 0) return { ok: true };
    return { ok: false, current: await this.get(key) };
  }

  /** Deletes `key`; whether it existed. */
  async delete(key: string): Promise<boolean> {
    return Number(this.#delete.run(key).changes) > 0;
  }

  /** Deletes `keys`; whether any existed. */
  async deleteMany(keys: string[]): Promise<boolean> {
    let deleted = false;
    for (const key of keys) deleted = (await this.delete(key)) || deleted;
    return deleted;
  }

  /** Whether a live value is stored at `key`. */
  async has(key: string): Promise<boolean> {
    return (await this.get(key)) !== undefined;
  }

  /** Deletes every entry of the Keyv namespace (all entries without one). */
  async clear(): Promise<void> {
    if (this.namespace === undefined) this.#clearAll.run();
    else this.#clear.run(`${this.namespace.replace(/[\\%_]/g, '\\$&')}:%`);
  }

  /** Entries of a namespace, for `keyv.iterator()`. */
  async *iterator(namespace?: string): AsyncGenerator<[string, string]> {
    const pattern = namespace === undefined ? '%' : `${namespace.replace(/[\\%_]/g, '\\$&')}:%`;
    for (const row of this.#list.iterate(pattern, this.#clock.wallMs()) as Iterable<{ key: string; value: string }>) yield [row.key, row.value];
  }

  /** Closes the database. */
  async disconnect(): Promise<void> {
    if (this.database.isOpen) this.database.close();
  }
}

/**
 * Creates a Keyv over a SQLite file (`node:sqlite`, nothing to compile), the store the SDK uses by
 * default. Pass it with a lock sharing the file: `createSqliteLock({ database: path })`.
 *
 * @example
 * ```ts
 * import { createSqliteStore, createSqliteLock } from 'offline-tokens';
 * const store = createSqliteStore({ path: './tokens.sqlite' });
 * const lock = createSqliteLock({ database: './tokens.sqlite' });
 * ```
 */
export function createSqliteStore(options: SqliteStoreOptions): Keyv {
  return new Keyv({ store: new SqliteStore(options) });
}
