/**
 * Redis for a fleet: a lease lock and a store that reports Redis failures. Needs the `redis` and
 * `@keyv/redis` packages.
 *
 * @example
 * ```ts
 * import { createRedisLock, createRedisStore } from 'offline-tokens/redis';
 * const store = createRedisStore({ url: process.env.REDIS_URL! });
 * const lock = createRedisLock({ url: process.env.REDIS_URL! });
 * ```
 * @module
 */
export { createRedisLock, type RedisLockClient, type RedisLockConnection, type RedisLockOptions } from './locks/redis.ts';
export { createRedisStore, type RedisStoreOptions } from './storage/redis.ts';
