/**
 * The composition root: {@link createTokenManager} turns validated options into the parts a manager
 * runs on. The only module that picks concrete backends: without a `store`, the SQLite file
 * (`node:sqlite`, loaded on first use) with its file lock; without a `lock`, the in-process one.
 * @module
 */
import Keyv from 'keyv';
import { createInProcessLock, withKeyPrefix, type GrantLock } from './locks/lock.ts';
import { WITH_PREFETCH, type WithPrefetch } from './locks/lease.ts';
import { createSqliteLock } from './locks/sqlite.ts';
import { TokenManager, type ManagerParts } from './manager.ts';
import { ServerConnection } from './oauth/server.ts';
import type { TokenManagerOptions } from './options.ts';
import { resolveOptions, type ResolvedOptions } from './resolve-options.ts';
import { findRecordCas } from './storage/find-cas.ts';
import { GrantStore } from './storage/grant-store.ts';
import { SqliteStore } from './storage/sqlite.ts';
import { deferOpenTelemetry } from './telemetry/deferred.ts';

/**
 * Creates a token manager: validates the options and opens the store (default: a SQLite file). It
 * makes no request: the server's metadata is fetched on first need (and cached in the store), so a
 * process can serve stored, valid access tokens while the authorization server is down.
 *
 * @example
 * ```ts
 * import { createTokenManager } from 'offline-tokens';
 * const tokens = await createTokenManager({
 *   issuer: 'https://idp.example.com',
 *   clientId: 'my-app',
 *   clientSecret: process.env.CLIENT_SECRET,
 *   redirectUri: 'https://app.example.com/callback',
 * });
 * const accessToken = await tokens.getAccessToken('user-42');
 * ```
 */
export async function createTokenManager(options: TokenManagerOptions & { signal?: AbortSignal }): Promise<TokenManager> {
  const resolved = resolveOptions(options);
  options.signal?.throwIfAborted();
  // `@opentelemetry/api` (when installed) is imported at the first refresh or consent (or a second after), not here: a cold start reads the store only.
  const observer = deferOpenTelemetry();
  const storage = openStorage(resolved);
  const server = new ServerConnection(resolved, storage.store);
  return new TokenManager({ ...storage, server, observer }, resolved);
}

/** The store and lock of `options`, defaults filled in; `close` closes only what was opened here. */
function openStorage(options: ResolvedOptions): Omit<ManagerParts, 'server'> {
  const sqlite = options.store === undefined ? new SqliteStore({ path: options.sqlitePath, clock: options.clock }) : undefined;
  const lock: GrantLock = options.lock ?? (sqlite !== undefined ? createSqliteLock({ database: sqlite.database, clock: options.clock }) : createInProcessLock());
  const keyv = options.store ?? new Keyv({ store: sqlite });
  const store = new GrantStore(keyv, {
    operationTimeoutMs: options.storeTimeoutMs,
    codec: options.codec,
    namespace: options.namespace,
    owner: { issuer: options.issuerId, clientId: options.clientId },
    maxTrackedGrants: options.maxCachedGrants,
    // The backend's atomic compare-and-set when it has one. `OFFLINE_TOKENS_STORE_CAS=0` forces the
    // generic read-then-write (the test suites run both).
    cas: process.env.OFFLINE_TOKENS_STORE_CAS === '0' ? undefined : findRecordCas(keyv),
  });
  const prefix = options.namespace === '' ? '' : `${options.namespace}:`;
  return {
    store,
    // Every key of this manager's namespace: another provider's grant of the same user never waits on it.
    lock: withKeyPrefix(prefetchingLock(lock, store, prefix) ?? lock, prefix),
    async close() {
      if (options.lock === undefined) await lock.close?.();
      if (sqlite !== undefined) await store.keyv.disconnect();
    },
  };
}

/**
 * With the compare-and-set on, a Redis or PostgreSQL lock on the store's own server takes a lease and
 * reads the grant record in one round trip; `undefined` otherwise (the lock as given).
 */
function prefetchingLock(lock: GrantLock, store: GrantStore, prefix: string): GrantLock | undefined {
  const withPrefetch = (lock as { [WITH_PREFETCH]?: WithPrefetch })[WITH_PREFETCH];
  if (typeof withPrefetch !== 'function' || !store.compareAndSet) return undefined;
  const adapter = store.keyv.store as unknown;
  if (typeof adapter !== 'object' || adapter === null) return undefined;
  // Lock keys are `<prefix><key>` for grants (consents lock `<prefix>pending:<state>`: nothing to read).
  return withPrefetch(adapter, (lockKey) => (lockKey.startsWith(prefix) && !lockKey.startsWith(`${prefix}pending:`) ? store.adapterGrantKey(lockKey.slice(prefix.length)) : undefined));
}
