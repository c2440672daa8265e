/**
 * offline-tokens: keep a backend able to act for a user after the user has left.
 * @module
 */
export { createTokenManager, TokenManager, type GetAccessTokenOptions } from './token-manager.ts';
export type { TokenManagerOptions, ClientAuthMethod } from './options.ts';
export type { StartAuthorizationOptions, AuthorizationRequest } from './authorization.ts';
export type { GrantInfo, GrantStatus } from './grant.ts';
export type { TokenManagerEvents, TokenManagerEventName } from './events.ts';
export {
  TokenManagerError,
  ReauthRequiredError,
  StoreError,
  ServerUnavailableError,
  OAuthError,
  TokenResponseError,
  CallbackError,
  ConfigurationError,
  RecordError,
  LockError,
  ClosedError,
  type TokenManagerErrorCode,
  type ReauthReason,
  type CallbackErrorReason,
  type AnyTokenManagerError,
} from './errors.ts';
export { createInProcessLock, type GrantLock, type Lease, type WithLockOptions } from './lock.ts';
export { createLeaseLock, type LeaseBackend, type LeaseLockOptions } from './lease-lock.ts';
export { createSqliteLock, type SqliteLockOptions } from './sqlite-lock.ts';
export { generateEncryptionKey, type EncryptionOptions } from './encryption.ts';
export { SqliteStore, type SqliteStoreOptions } from './sqlite-store.ts';
export { effectiveWindowMs, refreshTiming, tokenState, type RefreshTiming, type TokenState } from './expiry.ts';
