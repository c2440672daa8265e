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

/** Every `code` a {@link TokenManagerError} can carry. */
export type TokenManagerErrorCode =
  | 'ERR_REAUTH_REQUIRED'
  | 'ERR_STORE_UNAVAILABLE'
  | 'ERR_SERVER_UNAVAILABLE'
  | 'ERR_OAUTH'
  | 'ERR_BAD_TOKEN_RESPONSE'
  | 'ERR_BAD_CALLBACK'
  | 'ERR_INVALID_OPTIONS'
  | 'ERR_BAD_RECORD'
  | 'ERR_LOCK_UNAVAILABLE'
  | 'ERR_CLOSED';

/** Why a grant can no longer be used and the user has to consent again. */
export type ReauthReason =
  /** Nothing is stored under this key. */
  | 'no_grant'
  /** The authorization server rejected the stored refresh token (revoked, reused, or expired there). */
  | 'invalid_grant'
  /** The refresh token's lifetime (sliding or absolute) ran out by the SDK's own bookkeeping. */
  | 'expired'
  /** A rotation happened at the server but its response was lost, so the new refresh token is unknown. */
  | 'rotation_lost'
  /** The grant was revoked through {@link TokenManager.revoke}. */
  | 'revoked';

interface ErrorDetails {
  cause?: unknown;
}

/**
 * Base class of every error the SDK throws.
 *
 * @example
 * ```ts
 * if (error instanceof TokenManagerError) console.error(error.code, error.message);
 * ```
 */
export class TokenManagerError extends Error {
  /** Stable, machine-readable error code. */
  readonly code: TokenManagerErrorCode;

  constructor(code: TokenManagerErrorCode, message: string, details: ErrorDetails = {}) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    if ('cause' in details) {
      // A summary, never the original: openid-client errors carry response bodies (tokens) in their
      // own `cause`, and `util.inspect` prints causes whether they are enumerable or not.
      Object.defineProperty(this, 'cause', { value: summarizeCause(details.cause), enumerable: false, writable: true, configurable: true });
    }
  }

  /** Only the code, name and message: never the cause, which may hold a raw response. */
  toJSON(): { name: string; code: TokenManagerErrorCode; message: string } {
    return { name: this.name, code: this.code, message: this.message };
  }
}

/** Fields of a cause that are codes and statuses, never payloads. */
const SAFE_FIELDS = ['code', 'status', 'error', 'errno', 'syscall'] as const;

/**
 * A copy of an error keeping its name, message, and primitive code-like fields (`code`, `status`,
 * OAuth `error`), with its own cause summarized the same way (a few levels deep). Bodies, responses
 * and any other payload are dropped. Errors of this SDK are kept as they are (already safe).
 *
 * @example
 * ```ts
 * summarizeCause(openidClientError); // Error { name: 'ClientError', code: 'OAUTH_INVALID_RESPONSE' }
 * ```
 */
export function summarizeCause(cause: unknown, depth = 0): unknown {
  if (cause instanceof TokenManagerError) return cause;
  if (!(cause instanceof Error)) return cause === undefined ? undefined : new Error(`A non-error value was thrown (${typeof cause})`);
  const summary = new Error(cause.message.slice(0, 500));
  summary.name = cause.name;
  summary.stack = cause.stack;
  for (const field of SAFE_FIELDS) {
    const value = (cause as unknown as Record<string, unknown>)[field];
    if (typeof value === 'string' || typeof value === 'number') Object.defineProperty(summary, field, { value, enumerable: true });
  }
  if (depth < 3 && cause.cause instanceof Error) summary.cause = summarizeCause(cause.cause, depth + 1);
  return summary;
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

  override toJSON(): { name: string; code: 'ERR_REAUTH_REQUIRED'; message: string; key: string; reason: ReauthReason } {
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

/** Why a callback was rejected. */
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
  readonly reason: CallbackErrorReason;
  /** The `error` parameter of the callback, when the server sent one. */
  readonly error: string | undefined;
  constructor(reason: CallbackErrorReason, message: string, details: ErrorDetails & { error?: string } = {}) {
    super('ERR_BAD_CALLBACK', message, details);
    this.reason = reason;
    this.error = details.error;
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

/** Every error type the SDK throws, for exhaustive `switch (error.code)`. */
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
