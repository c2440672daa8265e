/**
 * Errors on this side: a grant that needs a new consent, the store, the configuration, a stored
 * record, the lock, a closed manager.
 * @module
 */
import { TokenManagerError, type ErrorDetails, type ErrorJSON, type ReauthReason } from './base.ts';

/**
 * What `JSON.stringify` gives for a {@link ReauthRequiredError}: also the key and the reason.
 *
 * @example
 * ```ts
 * const { key, reason } = error.toJSON(); // { name, code: 'ERR_REAUTH_REQUIRED', message, key, reason }
 * ```
 */
export interface ReauthRequiredErrorJSON extends ErrorJSON {
  /** Always `'ERR_REAUTH_REQUIRED'`. */
  code: 'ERR_REAUTH_REQUIRED';
  /** The grant's key. */
  key: string;
  /** Why the grant is dead. */
  reason: ReauthReason;
}

/**
 * The grant under `key` cannot be used any more: the user must go through consent again.
 * The SDK never throws this for a lost race or a store outage.
 *
 * @example
 * ```ts
 * if (error instanceof ReauthRequiredError && error.reason === 'invalid_grant') notifyUser(error.key);
 * ```
 */
export class ReauthRequiredError extends TokenManagerError {
  declare readonly code: 'ERR_REAUTH_REQUIRED';
  /** The grant's key, as passed to `getAccessToken`. */
  readonly key: string;
  /** Why the grant is dead. */
  readonly reason: ReauthReason;

  constructor(key: string, reason: ReauthReason, details: ErrorDetails = {}) {
    super('ERR_REAUTH_REQUIRED', `The grant for key ${JSON.stringify(key)} needs the user's consent again (${reason})`, details);
    this.key = key;
    this.reason = reason;
  }

  override toJSON(): ReauthRequiredErrorJSON {
    return { name: this.name, code: this.code, message: this.message, key: this.key, reason: this.reason };
  }
}

/**
 * The store failed (unreachable, timed out, or refused a write). The grant is not known to be lost.
 *
 * @example
 * ```ts
 * if (error instanceof StoreError) metrics.increment('token_store_errors');
 * ```
 */
export class StoreError extends TokenManagerError {
  declare readonly code: 'ERR_STORE_UNAVAILABLE';
  constructor(message: string, details: ErrorDetails = {}) {
    super('ERR_STORE_UNAVAILABLE', message, details);
  }
}

/**
 * An option passed to the SDK is invalid. The message names the option.
 *
 * @example
 * ```ts
 * createTokenManager({ ...options, refreshWindowMs: -1 }); // rejects: Expected `refreshWindowMs` to be ...
 * ```
 */
export class ConfigurationError extends TokenManagerError {
  declare readonly code: 'ERR_INVALID_OPTIONS';
  constructor(message: string, details: ErrorDetails = {}) {
    super('ERR_INVALID_OPTIONS', message, details);
  }
}

/**
 * A stored record could not be decoded: truncated, tampered with, of an unknown version, or encrypted
 * with a key that is not in the key ring. The grant is left as it is in the store.
 *
 * @example
 * ```ts
 * if (error instanceof RecordError) alertOps('token store holds an unreadable record');
 * ```
 */
export class RecordError extends TokenManagerError {
  declare readonly code: 'ERR_BAD_RECORD';
  constructor(message: string, details: ErrorDetails = {}) {
    super('ERR_BAD_RECORD', message, details);
  }
}

/**
 * The cross-process lock could not be acquired before the deadline, or its backend failed.
 *
 * @example
 * ```ts
 * if (error instanceof LockError) retryLater();
 * ```
 */
export class LockError extends TokenManagerError {
  declare readonly code: 'ERR_LOCK_UNAVAILABLE';
  constructor(message: string, details: ErrorDetails = {}) {
    super('ERR_LOCK_UNAVAILABLE', message, details);
  }
}

/**
 * The token manager was closed.
 *
 * @example
 * ```ts
 * await tokens.close();
 * await tokens.getAccessToken('user-42'); // rejects with ClosedError
 * ```
 */
export class ClosedError extends TokenManagerError {
  declare readonly code: 'ERR_CLOSED';
  constructor() {
    super('ERR_CLOSED', 'The token manager is closed');
  }
}
