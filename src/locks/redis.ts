/**
 * A lease lock on Redis, for several processes or hosts ({@link createRedisLock}). Import from
 * `offline-tokens/redis`; it opens its client with the `createClient` `@keyv/redis` re-exports
 * (`@redis/client`, node-redis 5 without its module bundle: a cold start loads less), and takes any
 * node-redis 5 client you pass.
 *
 * Why not a lock library: the npm `redlock` package (4.2.0; its 5.x is still a beta) and its
 * maintained fork `@sesamecare-oss/redlock` (1.4.0, peer `ioredis >= 5`) are written for ioredis and
 * implement Redlock, a quorum over several independent Redis masters. The SDK needs less and
 * something else: one lease per grant on a single Redis (or a cluster, the key lives in one slot),
 * held by a random owner token and renewed or released only by that owner, so that a holder that
 * lost its lease can never extend or free a lease someone else took over. Three commands do that on
 * the node-redis client `@keyv/redis` already uses, without a second Redis client library.
 * @module
 */
import { createClient } from '@keyv/redis';
import { raceSignal } from '../util/abort.ts';
import { Deadlines } from '../util/deadlines.ts';
import { ConfigurationError } from '../errors.ts';
import { createLeaseLock, WITH_PREFETCH, type LeaseBackend, type LeaseLockOptions, type WithPrefetch } from './lease.ts';
import type { GrantLock } from './lock.ts';
import { duration } from '../util/validate.ts';
import { ACQUIRE_AND_READ_SCRIPT, CAS_AND_RELEASE_SCRIPT, RELEASE_SCRIPT, RENEW_SCRIPT } from './redis-scripts.ts';
import { runScript } from '../util/redis-script.ts';
import { casResult } from '../util/compare-and-set.ts';

/**
 * The two commands the lock sends, as node-redis 5 clients (`createClient`, `createCluster`) have them.
 *
 * @example
 * ```ts
 * import { createClient } from 'redis';
 * const client = await createClient({ url: process.env.REDIS_URL }).connect();
 * const lock = createRedisLock({ client });
 * ```
 */
export interface RedisLockClient {
  /** `SET key value NX PX ms`: takes a free lease. */
  set(key: string, value: string, options: { condition: 'NX'; expiration: { type: 'PX'; value: number } }): Promise<unknown>;
  /** Runs a Lua script: renews and releases a lease only while its owner holds it. */
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  /** Used when present (node-redis has it): the script's SHA-1 instead of its text, `EVAL` on `NOSCRIPT`. */
  evalSha?(sha: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
}

/**
 * Where the Redis lock keeps its leases: a URL (the lock opens and closes its own client) or your connected client.
 *
 * @example
 * ```ts
 * const lock = createRedisLock({ url: 'redis://localhost:6379' }); // or { client }
 * ```
 */
export type RedisLockConnection =
  | {
      /** A Redis URL (`redis://host:6379`): the lock opens its own client and `close()` quits it. */
      url: string;
    }
  | {
      /** Your connected node-redis client, never closed by the lock. */
      client: RedisLockClient;
    };

/**
 * Options of {@link createRedisLock}.
 *
 * @example
 * ```ts
 * const lock = createRedisLock({ url: process.env.REDIS_URL!, keyPrefix: 'billing:lock:', commandTimeoutMs: 2_000 });
 * ```
 */
export interface RedisLockOptions extends LeaseLockOptions {
  /** Prefix of the lease keys. Default `offline-tokens:lock:`. */
  keyPrefix?: string;
  /** Longest wait for one Redis command (or the first connection) before it counts as failed. Default 5 000. */
  commandTimeoutMs?: number;
}

/**
 * Creates a lock whose leases are Redis keys (`SET key owner NX PX ttl`), safe across processes and
 * hosts sharing the Redis. Expiry is Redis's own clock. With `{ url }` the lock connects on first use
 * and `close()` disconnects; a `{ client }` you pass is never closed by the lock.
 *
 * @example
 * ```ts
 * import { createRedisLock, createRedisStore } from 'offline-tokens/redis';
 * const tokens = createTokenManager({
 *   ...options,
 *   store: createRedisStore({ url: process.env.REDIS_URL }),
 *   lock: createRedisLock({ url: process.env.REDIS_URL }),
 * });
 * ```
 */
export function createRedisLock(connection: RedisLockConnection, options: RedisLockOptions = {}): GrantLock {
  if (typeof connection !== 'object' || connection === null) throw new ConfigurationError('Expected a Redis connection: `{ url }` or `{ client }`');
  const keyPrefix = options.keyPrefix ?? 'offline-tokens:lock:';
  if (typeof keyPrefix !== 'string') throw new ConfigurationError('Expected `keyPrefix` to be a string');
  const commandTimeoutMs = duration(options.commandTimeoutMs, 'commandTimeoutMs', 5_000, 1);
  const connect = clientSource(connection);
  // A command that hangs (server stuck, network partition) fails after commandTimeoutMs.
  // One shared deadline timer, not an AbortSignal.timeout (a timer, a signal and a listener) per command.
  const deadlines = new Deadlines(commandTimeoutMs);
  const timedOut = (): Error => new Error(`A Redis lock command did not finish within ${commandTimeoutMs} ms`);
  const send = <T>(command: (client: RedisLockClient) => Promise<T>): Promise<T> => deadlines.race(connect.get().then(command), timedOut);

  const backend: LeaseBackend = {
    async tryAcquire(key, owner, ttlMs) {
      const reply = await send((client) => client.set(keyPrefix + key, owner, { condition: 'NX', expiration: { type: 'PX', value: ttlMs } }));
      return reply === 'OK';
    },
    async renew(key, owner, ttlMs) {
      const reply = await send((client) => runScript(client, RENEW_SCRIPT, { keys: [keyPrefix + key], arguments: [owner, String(ttlMs)] }));
      return Number(reply) === 1;
    },
    async release(key, owner) {
      await send((client) => runScript(client, RELEASE_SCRIPT, { keys: [keyPrefix + key], arguments: [owner] }));
    },
    close: () => connect.close(commandTimeoutMs),
  };
  const lock = createLeaseLock(backend, options);
  const withPrefetch: WithPrefetch = (adapter, recordKey) => {
    // Only a @keyv/redis store on this very client or URL: the script reads both keys on one server.
    const store = adapter as { client?: { options?: { url?: unknown } }; createKeyPrefix?: (key: string, namespace: string | undefined) => string; namespace?: string };
    if (typeof store.createKeyPrefix !== 'function' || store.client === undefined) return undefined;
    // A cluster keeps the lease and the record in different slots: a two-key script would fail (CROSSSLOT).
    if (typeof (store.client as { getSlotMaster?: unknown }).getSlotMaster === 'function') return undefined;
    const same = 'client' in connection ? store.client === (connection.client as unknown) : store.client.options?.url === connection.url;
    if (!same) return undefined;
    const fused: LeaseBackend = {
      ...backend,
      async tryAcquireAndRead(key, owner, ttlMs, readKey, mark) {
        const args = mark === undefined ? [owner, String(ttlMs)] : [owner, String(ttlMs), mark.expected, mark.next];
        const reply = await send((client) => runScript(client, ACQUIRE_AND_READ_SCRIPT, { keys: [keyPrefix + key, readKey], arguments: args })) as [number, string | null | undefined, number?];
        return Number(reply[0]) === 1 ? { acquired: true, value: typeof reply[1] === 'string' ? reply[1] : null, marked: Number(reply[2]) === 1 } : { acquired: false, value: null };
      },
      async compareAndSetAndRelease(key, owner, recordKey, expected, next) {
        return casResult(await send((client) => runScript(client, CAS_AND_RELEASE_SCRIPT, { keys: [keyPrefix + key, recordKey], arguments: [owner, expected, next] })));
      },
    };
    return createLeaseLock(fused, {
      ...options,
      prefetch: (lockKey) => {
        const key = recordKey(lockKey);
        return key === undefined ? undefined : store.createKeyPrefix!(key, store.namespace);
      },
    });
  };
  return Object.assign(lock, { [WITH_PREFETCH]: withPrefetch });
}

interface ClientSource {
  get(): Promise<RedisLockClient>;
  close(timeoutMs: number): Promise<void>;
}

function clientSource(connection: RedisLockConnection): ClientSource {
  if ('client' in connection) {
    const client = connection.client;
    if (typeof client?.set !== 'function' || typeof client?.eval !== 'function') {
      throw new ConfigurationError('Expected `client` to be a node-redis client');
    }
    const ready = Promise.resolve(client);
    return { get: () => ready, close: async () => {} };
  }
  if (typeof connection.url !== 'string' || connection.url.length === 0) throw new ConfigurationError('Expected `url` to be a Redis URL');
  // Commands fail at once while disconnected instead of queueing until Redis is back.
  const client = createClient({ url: connection.url, disableOfflineQueue: true });
  // Connection errors are reported through the commands that fail; without a listener they would crash the process.
  client.on('error', () => {});
  let connecting: Promise<RedisLockClient> | undefined;
  let closed = false;
  return {
    get() {
      if (closed) return Promise.reject(new Error('The Redis lock is closed'));
      connecting ??= client.connect().then(
        () => client as unknown as RedisLockClient,
        (error: unknown) => {
          connecting = undefined;
          throw error;
        },
      );
      return connecting;
    },
    async close(timeoutMs) {
      closed = true;
      if (connecting === undefined) return;
      if (!client.isReady) {
        client.destroy();
        return;
      }
      // Waits for replies in flight, unless Redis does not answer.
      await raceSignal(client.close(), AbortSignal.timeout(timeoutMs)).catch(() => client.destroy());
    },
  };
}
