/**
 * The composition root: {@link createTokenManager} turns validated options into the parts a manager
 * runs on. The only module that picks concrete backends: without a `store`, the SQLite file
 * (`node:sqlite`, loaded on first use) with its file lock; without a `lock`, the in-process one.
 * @module
 */
import Keyv from 'keyv';
import { createInProcessLock, type GrantLock } from './locks/lock.ts';
import { createSqliteLock } from './locks/sqlite.ts';
import { TokenManager, type ManagerParts } from './manager.ts';
import { discover } from './oauth/client.ts';
import { resolveOptions, type ResolvedOptions, type TokenManagerOptions } from './options.ts';
import { GrantStore } from './storage/grant-store.ts';
import { SqliteStore } from './storage/sqlite.ts';
import { loadOpenTelemetry } from './telemetry/otel.ts';

/**
 * Creates a token manager: discovers the issuer, opens the store (default: a SQLite file), and is
 * ready to start consents and hand out access tokens.
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
  const [oauth, observer] = await Promise.all([discover(resolved, options.signal), loadOpenTelemetry()]);
  return new TokenManager({ ...openStorage(resolved), oauth, observer }, resolved);
}

/** The store and lock of `options`, defaults filled in; `close` closes only what was opened here. */
function openStorage(options: ResolvedOptions): Omit<ManagerParts, 'oauth'> {
  const sqlite = options.store === undefined ? new SqliteStore({ path: options.sqlitePath }) : undefined;
  const lock: GrantLock = options.lock ?? (sqlite !== undefined ? createSqliteLock({ database: sqlite.database }) : createInProcessLock());
  const store = new GrantStore(options.store ?? new Keyv({ store: sqlite }), {
    operationTimeoutMs: options.storeTimeoutMs,
    codec: options.codec,
  });
  return {
    store,
    lock,
    async close() {
      if (options.lock === undefined) await lock.close?.();
      if (sqlite !== undefined) await store.keyv.disconnect();
    },
  };
}
