/**
 * Typed errors. Every error the SDK throws is a {@link TokenManagerError} with a stable `code`;
 * `switch (error.code)` over {@link TokenManagerErrorCode} is exhaustive.
 *
 * No message, `toString()`, `toJSON()` or `util.inspect()` output ever contains a token, a client
 * secret or an encryption key: messages are written by this module from fixed text and metadata,
 * and a `cause` that might carry a raw response is kept non-enumerable.
 *
 * @example
 * ```ts
 * try {
 *   await tokens.getAccessToken('user-42');
 * } catch (error) {
 *   if (error instanceof ReauthRequiredError) sendConsentEmail(error.key);
 *   else if (error instanceof TokenManagerError && error.code === 'ERR_SERVER_UNAVAILABLE') retryLater();
 *   else throw error;
 * }
 * ```
 * @module
 */
export { TokenManagerError, summarizeCause, type TokenManagerErrorCode, type ReauthReason, type ErrorDetails, type ErrorJSON } from './errors/base.ts';
export { ServerUnavailableError, OAuthError, TokenResponseError, CallbackError, type CallbackErrorReason } from './errors/server.ts';
export { ReauthRequiredError, StoreError, ConfigurationError, RecordError, LockError, ClosedError, type ReauthRequiredErrorJSON } from './errors/local.ts';
import type { CallbackError, OAuthError, ServerUnavailableError, TokenResponseError } from './errors/server.ts';
import type { ClosedError, ConfigurationError, LockError, ReauthRequiredError, RecordError, StoreError } from './errors/local.ts';

/**
 * Every error type the SDK throws, for exhaustive `switch (error.code)`.
 *
 * @example
 * ```ts
 * function status(error: AnyTokenManagerError): number {
 *   switch (error.code) {
 *     case 'ERR_REAUTH_REQUIRED': return 401;
 *     case 'ERR_STORE_UNAVAILABLE': case 'ERR_SERVER_UNAVAILABLE': case 'ERR_LOCK_UNAVAILABLE': return 503;
 *     default: return 500;
 *   }
 * }
 * ```
 */
export type AnyTokenManagerError =
  | ReauthRequiredError
  | StoreError
  | ServerUnavailableError
  | OAuthError
  | TokenResponseError
  | CallbackError
  | ConfigurationError
  | RecordError
  | LockError
  | ClosedError;
