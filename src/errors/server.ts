/**
 * Errors about the authorization server: unavailable, an OAuth error answer, an unusable token
 * response, a rejected authorization callback.
 * @module
 */
import { TokenManagerError, type ErrorDetails } from './base.ts';

/**
 * The authorization server could not be reached or kept failing (network error, 5xx, 429,
 * `temporarily_unavailable`) until the refresh deadline passed. The grant is intact.
 *
 * @example
 * ```ts
 * if (error instanceof ServerUnavailableError) setTimeout(retryJob, error.retryAfterMs ?? 30_000);
 * ```
 */
export class ServerUnavailableError extends TokenManagerError {
  declare readonly code: 'ERR_SERVER_UNAVAILABLE';
  /** The server's last `Retry-After`, in milliseconds, when it sent one. */
  readonly retryAfterMs: number | undefined;
  constructor(message: string, details: ErrorDetails & { retryAfterMs?: number | undefined } = {}) {
    super('ERR_SERVER_UNAVAILABLE', message, details);
    this.retryAfterMs = details.retryAfterMs;
  }
}

/**
 * The authorization server answered with an OAuth error that is not retryable and does not mean the
 * grant is dead, e.g. `invalid_client` (wrong client secret) or `unauthorized_client`.
 *
 * @example
 * ```ts
 * if (error instanceof OAuthError && error.error === 'invalid_client') alertOps('client secret rotated?');
 * ```
 */
export class OAuthError extends TokenManagerError {
  declare readonly code: 'ERR_OAUTH';
  /** The `error` field of the server's response. */
  readonly error: string;
  /** The HTTP status of the response. */
  readonly status: number | undefined;
  constructor(error: string, status: number | undefined, details: ErrorDetails = {}) {
    super('ERR_OAUTH', `The authorization server answered ${JSON.stringify(error)}${status ? ` (HTTP ${status})` : ''}`, details);
    this.error = error;
    this.status = status;
  }
}

/**
 * The token endpoint's response was malformed: not JSON, no `access_token`, a `token_type` other than
 * Bearer, or an unusable `expires_in`.
 *
 * @example
 * ```ts
 * if (error instanceof TokenResponseError) console.error(error.message); // names the bad field, never its value
 * ```
 */
export class TokenResponseError extends TokenManagerError {
  declare readonly code: 'ERR_BAD_TOKEN_RESPONSE';
  constructor(message: string, details: ErrorDetails = {}) {
    super('ERR_BAD_TOKEN_RESPONSE', message, details);
  }
}

/**
 * Why a callback was rejected.
 *
 * @example
 * ```ts
 * const userFixable: CallbackErrorReason[] = ['access_denied', 'unknown_state', 'state_mismatch'];
 * if (error instanceof CallbackError && userFixable.includes(error.reason)) res.redirect('/connect');
 * ```
 */
export type CallbackErrorReason =
  | 'access_denied'
  | 'authorization_error'
  | 'unknown_state'
  | 'missing_state'
  | 'missing_code'
  | 'malformed'
  | 'issuer_mismatch'
  | 'exchange_failed'
  /** The callback URL's origin and path differ from `redirectUri`. */
  | 'redirect_mismatch'
  /** The callback's `state` is not the one the app kept for this browser. */
  | 'state_mismatch'
  /** The consent was started for another key than the one the app's session is logged in as. */
  | 'key_mismatch';

/**
 * The redirect back from the authorization server cannot be completed: the user denied consent, the
 * `state` is unknown, expired or already used, the code is missing, or the issuer does not match.
 *
 * @example
 * ```ts
 * if (error instanceof CallbackError && error.reason === 'access_denied') res.redirect('/consent-declined');
 * ```
 */
export class CallbackError extends TokenManagerError {
  declare readonly code: 'ERR_BAD_CALLBACK';
  /** Why the callback was rejected. */
  readonly reason: CallbackErrorReason;
  /** The `error` parameter of the callback, when the server sent one. */
  readonly error: string | undefined;
  constructor(reason: CallbackErrorReason, message: string, details: ErrorDetails & { error?: string } = {}) {
    super('ERR_BAD_CALLBACK', message, details);
    this.reason = reason;
    this.error = details.error;
  }
}
