/**
 * The base of every error the SDK throws: {@link TokenManagerError} with its stable `code`, the reasons
 * a grant needs a new consent, and {@link summarizeCause}, which keeps payloads out of `toJSON()`.
 * The rules every error follows are in `errors.ts`.
 * @module
 */

/**
 * Every `code` a {@link TokenManagerError} can carry: stable across versions, safe to branch on.
 *
 * @example
 * ```ts
 * const retryable: TokenManagerErrorCode[] = ['ERR_STORE_UNAVAILABLE', 'ERR_SERVER_UNAVAILABLE', 'ERR_LOCK_UNAVAILABLE'];
 * if (error instanceof TokenManagerError && retryable.includes(error.code)) scheduleRetry();
 * ```
 */
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

/**
 * Why a grant can no longer be used and the user has to consent again.
 *
 * @example
 * ```ts
 * tokens.on('reauthRequired', ({ key, reason }: { key: string; reason: ReauthReason }) => {
 *   if (reason !== 'revoked') emailUser(key, 'Please reconnect your account');
 * });
 * ```
 */
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

/**
 * Options of every error constructor.
 *
 * @example
 * ```ts
 * throw new StoreError('my store adapter is closed', { cause: error });
 * ```
 */
export interface ErrorDetails {
  /** The underlying error; kept only as a summary (name, message, codes), never with payloads. */
  cause?: unknown;
}

/**
 * What `JSON.stringify(error)` gives for every SDK error: never the cause, which may hold a raw response.
 *
 * @example
 * ```ts
 * logger.error({ err: error.toJSON() }, 'token refresh failed'); // { name, code, message }
 * ```
 */
export interface ErrorJSON {
  /** The error class's name, e.g. `'StoreError'`. */
  name: string;
  /** The stable code ({@link TokenManagerErrorCode}). */
  code: TokenManagerErrorCode;
  /** The message (never a token or a secret). */
  message: string;
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
  toJSON(): ErrorJSON {
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
