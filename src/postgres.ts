/**
 * PostgreSQL for a fleet: a lease lock (use `@keyv/postgres` for the store). Needs the `pg` package.
 *
 * @example
 * ```ts
 * import Keyv from 'keyv';
 * import KeyvPostgres from '@keyv/postgres';
 * import { createPostgresLock } from 'offline-tokens/postgres';
 * const store = new Keyv({ store: new KeyvPostgres({ uri: process.env.DATABASE_URL! }) });
 * const lock = createPostgresLock({ connectionString: process.env.DATABASE_URL! });
 * ```
 * @module
 */
export { createPostgresLock, type PostgresLockConnection, type PostgresLockOptions, type PostgresLockPool } from './locks/postgres.ts';
