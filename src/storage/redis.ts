/**
 * A Keyv store on Redis set up so that Redis failures reach the SDK as errors. Import from
 * `offline-tokens/redis`; it needs the `@keyv/redis` package.
 * @module
 */
import KeyvRedis, { type RedisClientConnectionType } from '@keyv/redis';
import Keyv from 'keyv';
import { ConfigurationError } from '../errors.ts';

/**
 * Options of {@link createRedisStore}.
 *
 * @example
 * ```ts
 * const store = createRedisStore({ url: process.env.REDIS_URL!, namespace: 'billing' });
 * ```
 */
export interface RedisStoreOptions {
  /** Prefix of the store's keys (`<namespace>::grant:<key>`). Default `offline-tokens`. */
  namespace?: string;
}

/**
 * Creates a Keyv over Redis for the token manager's `store`. Unlike a default `@keyv/redis` adapter,
 * which resolves `undefined` or pretends success when Redis answers with an error (out of memory,
 * read-only replica, wrong type), this one throws, so the SDK reports a store outage instead of
 * "no grant" or a silently lost write. `keyv.disconnect()` closes the Redis client, also one you passed.
 *
 * @example
 * ```ts
 * import { createRedisStore } from 'offline-tokens/redis';
 * const store = createRedisStore({ url: 'redis://localhost:6379' });
 * ```
 */
export function createRedisStore(connection: { url: string } | { client: RedisClientConnectionType }, options: RedisStoreOptions = {}): Keyv {
  if (typeof connection !== 'object' || connection === null) throw new ConfigurationError('Expected a Redis connection: `{ url }` or `{ client }`');
  const namespace = options.namespace ?? 'offline-tokens';
  if (typeof namespace !== 'string' || namespace.length === 0) throw new ConfigurationError('Expected `namespace` to be a non-empty string');
  let target: string | RedisClientConnectionType;
  if ('client' in connection) {
    if (typeof connection.client?.connect !== 'function') throw new ConfigurationError('Expected `client` to be a node-redis client');
    target = connection.client;
  } else {
    if (typeof connection.url !== 'string' || connection.url.length === 0) throw new ConfigurationError('Expected `url` to be a Redis URL');
    target = connection.url;
  }
  const store = new KeyvRedis(target, { namespace, throwOnErrors: true, throwOnConnectError: true });
  // As @keyv/redis's own createKeyv does: the adapter prefixes keys itself.
  const keyv = new Keyv({ store, namespace, useKeyPrefix: false, throwOnErrors: true });
  return keyv;
}
