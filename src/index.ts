/**
 * offline-tokens: keep a backend able to act for a user after the user has left.
 * @module
 */
export { createTokenManager } from './defaults.ts';
export { TokenManager, type GetAccessTokenOptions, type ListGrantsOptions, type ProtectedFetchOptions } from './manager.ts';
export type { TokenResult } from './grant/token.ts';
export type { TokenManagerOptions, ClientAuthMethod } from './options.ts';
export type { ClientPrivateKey } from './oauth/client-key.ts';
export type { DPoPOptions, DPoPProofRequest } from './grant/dpop-key.ts';
export type { Jwk, SigningAlgorithm } from './util/jwk.ts';
export type { StartAuthorizationOptions, CompleteAuthorizationOptions, AuthorizationRequest } from './consent/authorization.ts';
export type { GrantInfo, GrantStatus } from './grant/grant.ts';
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
  type ErrorDetails,
  type ErrorJSON,
  type ReauthRequiredErrorJSON,
} from './errors.ts';
export { createInProcessLock, type CompareAndSetResult, type GrantLock, type Lease, type WithLockOptions } from './locks/lock.ts';
export { createLeaseLock, type LeaseBackend, type LeaseLockOptions } from './locks/lease.ts';
export { createSqliteLock, type SqliteLockOptions } from './locks/sqlite.ts';
export { generateEncryptionKey, type EncryptionOptions } from './grant/encryption.ts';
export { SqliteStore, createSqliteStore, type SqliteStoreOptions } from './storage/sqlite.ts';
export type { RevokeResult } from './consent/revoke.ts';
export type { KeepAlive, KeepAliveOptions, KeepAliveReport } from './scheduling/keep-alive.ts';
export type { Fetch } from './oauth/http.ts';
export type { Logger } from './util/log.ts';
export type { Clock } from './util/clock.ts';
