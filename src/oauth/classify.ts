/**
 * Pure classification of a failed token endpoint call, from the OAuth `error` field and the HTTP
 * status — never from message text.
 * @module
 */
import * as client from 'openid-client';
import { TokenManagerError } from '../errors.ts';

/** What to do about a failed call to the authorization server. */
export type Failure =
  /** Worth retrying: network error, 5xx, 429, `temporarily_unavailable`, `server_error`. */
  | {
    kind: 'transient';
    retryAfterMs: number | undefined;
    /** The request may have been processed (rotating the token) with the answer lost. */
    mayHaveReachedServer: boolean;
    /** No answer within the request timeout: the server may still be processing it. */
    timedOut: boolean;
    status: number | undefined;
  }
  /** The server rejected the refresh token. */
  | { kind: 'invalid_grant' }
  /** Any other OAuth error (`invalid_client`, `unauthorized_client`, ...): not retried. */
  | { kind: 'oauth'; error: string; status: number | undefined }
  /** The response could not be used (not JSON, missing fields). */
  | { kind: 'bad_response' }
  /** Anything else, including an abort: rethrown as is. */
  | { kind: 'other' };

const TRANSIENT_OAUTH_ERRORS = new Set(['temporarily_unavailable', 'server_error', 'slow_down']);
/** The refresh token (or code) is dead: RFC 6749's `invalid_grant`, and GitHub's name for it. */
const INVALID_GRANT_ERRORS = new Set(['invalid_grant', 'bad_refresh_token']);
/** Socket failures before any byte was sent: the server cannot have processed the request. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * Classifies an error thrown by openid-client.
 *
 * @example
 * ```ts
 * classifyFailure(error, Date.now()).kind === 'invalid_grant';
 * ```
 */
export function classifyFailure(error: unknown, now: number): Failure {
  if (error instanceof TokenManagerError) return error.code === 'ERR_BAD_TOKEN_RESPONSE' ? { kind: 'bad_response' } : { kind: 'other' };
  if (error instanceof client.ResponseBodyError) {
    const retryAfterMs = parseRetryAfter(error.response?.headers.get('retry-after') ?? null, now);
    if (INVALID_GRANT_ERRORS.has(error.error)) return { kind: 'invalid_grant' };
    if (TRANSIENT_OAUTH_ERRORS.has(error.error) || error.status === 429 || error.status >= 500) {
      return { kind: 'transient', retryAfterMs, mayHaveReachedServer: false, timedOut: false, status: error.status };
    }
    return { kind: 'oauth', error: error.error, status: error.status };
  }
  if (error instanceof client.WWWAuthenticateChallengeError) {
    const challengeError = error.cause[0]?.parameters.error;
    if (challengeError === 'invalid_grant') return { kind: 'invalid_grant' };
    return { kind: 'oauth', error: challengeError ?? 'invalid_client', status: error.status };
  }
  if (error instanceof client.ClientError) {
    if (error.code === 'OAUTH_TIMEOUT') return { kind: 'transient', retryAfterMs: undefined, mayHaveReachedServer: true, timedOut: true, status: undefined };
    const response = error.cause instanceof Response ? error.cause : undefined;
    if (response !== undefined && (response.status === 429 || response.status >= 500)) {
      return {
        kind: 'transient',
        retryAfterMs: parseRetryAfter(response.headers.get('retry-after'), now),
        mayHaveReachedServer: response.status !== 429 && response.status !== 503,
        timedOut: response.status === 504,
        status: response.status,
      };
    }
    return { kind: 'bad_response' };
  }
  if (error instanceof TypeError && isNetworkError(error)) {
    const code = networkCode(error);
    return { kind: 'transient', retryAfterMs: undefined, mayHaveReachedServer: code === undefined || !NOT_SENT_CODES.has(code), timedOut: false, status: undefined };
  }
  return { kind: 'other' };
}

/** The `code` of a fetch failure's cause (`ECONNREFUSED`, `UND_ERR_SOCKET`, ...). */
export function networkCode(error: TypeError): string | undefined {
  let cause: unknown = error.cause;
  for (let depth = 0; depth < 4 && cause !== undefined && cause !== null; depth++) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    cause = (cause as { cause?: unknown }).cause;
  }
  return undefined;
}

function isNetworkError(error: TypeError): boolean {
  return error.message === 'fetch failed' || networkCode(error) !== undefined;
}

/**
 * Parses a `Retry-After` header (seconds or an HTTP date) into milliseconds from `now`.
 *
 * @example
 * ```ts
 * parseRetryAfter('2', Date.now()); // 2000
 * ```
 */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
