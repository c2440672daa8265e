/**
 * What calls to the manager pass and how they are checked, and the parts a manager runs on.
 * @module
 */
import { ConfigurationError } from '../errors.ts';
import type { GrantStatus } from '../grant/grant.ts';
import type { GrantLock } from '../locks/lock.ts';
import type { ServerConnection } from '../oauth/server.ts';
import type { RefreshObserver } from '../refresh/observer.ts';
import type { GrantStore } from '../storage/grant-store.ts';

/**
 * Options of {@link TokenManager.getAccessToken} and {@link TokenManager.getToken}.
 *
 * @example
 * ```ts
 * await tokens.getAccessToken('user-42', { signal: AbortSignal.timeout(5_000), resource: 'https://api.example/a' });
 * ```
 */
export interface GetAccessTokenOptions {
  /** Stop waiting (the shared refresh goes on for other callers). */
  signal?: AbortSignal;
  /** Get a new access token even if the current one looks valid (e.g. after an API answered 401). */
  forceRefresh?: boolean;
  /**
   * RFC 8707: a token for this resource (an absolute URI, or several), got by a refresh of the grant
   * that sends `resource`, and cached per (key, resource). The resource must have been consented
   * (`startAuthorization({ resource })`) at servers that ask for it.
   */
  resource?: string | URL | ReadonlyArray<string | URL>;
  /**
   * A scope narrower than the consented one (space separated, or a list): a token for it is got by a
   * refresh that sends `scope`, and cached per (key, resource, scope). Scopes beyond the consent are
   * refused ({@link ConfigurationError}) without a request when the grant's scope is known.
   */
  scope?: string | readonly string[];
}

/**
 * Options of {@link TokenManager.fetch}: which token to send, and when to stop waiting.
 *
 * @example
 * ```ts
 * await tokens.fetch('user-42', 'https://api.example/a/me', undefined, { scope: 'read', signal: AbortSignal.timeout(10_000) });
 * ```
 */
export interface ProtectedFetchOptions {
  /** RFC 8707 resource(s) the token is for, as in {@link GetAccessTokenOptions.resource}. */
  resource?: GetAccessTokenOptions['resource'];
  /** A narrower scope, as in {@link GetAccessTokenOptions.scope}. */
  scope?: GetAccessTokenOptions['scope'];
  /** Aborts the token wait and the request (with `init.signal`, whichever aborts first). */
  signal?: AbortSignal;
}

/**
 * Options of {@link TokenManager.listGrants}.
 *
 * @example
 * ```ts
 * for await (const grant of tokens.listGrants({ status: 'reauth_required', signal })) console.log(grant.key);
 * ```
 */
export interface ListGrantsOptions {
  /** Only grants with this status. Default: all. */
  status?: GrantStatus;
  /** Stops the listing: the iterator rejects with `signal.reason` at its next step. */
  signal?: AbortSignal;
}

/** The longest key a grant may have. */
const KEY_MAX_LENGTH = 512;
/** The values `ListGrantsOptions.status` accepts. @internal */
export const GRANT_STATUSES: readonly string[] = ['active', 'reauth_required'];

/** What a manager runs on, built by the composition root. @internal */
export interface ManagerParts {
  store: GrantStore;
  lock: GrantLock;
  /** The authorization server, connected on first need. */
  server: ServerConnection;
  /** Closes what the composition root opened for this manager. */
  close(): Promise<void>;
  /** Metrics and traces of refreshes (OpenTelemetry when installed). */
  observer?: RefreshObserver | undefined;
}

/** A call a cached token answers as it is: no `forceRefresh`, a signal not aborted. */
export function isPlainRead(options: GetAccessTokenOptions): boolean {
  return options.forceRefresh !== true && options.signal?.aborted !== true;
}

/** Throws {@link ConfigurationError} unless the callback is bound to a browser: a non-empty `state`, a valid `key`, or both. @internal */
export function validateCallbackBinding(state: unknown, key: unknown): void {
  if (state !== undefined && (typeof state !== 'string' || state.length === 0)) {
    throw new ConfigurationError('Expected `state` to be the non-empty string `startAuthorization` returned');
  }
  if (key !== undefined) validateKey(key);
  if (state === undefined && key === undefined) {
    throw new ConfigurationError('Expected `state` (kept in the user\'s session when the consent started) or `key` (the logged-in user): a callback must be bound to the browser that started the consent');
  }
}

/** Throws {@link ConfigurationError} unless `key` is a non-empty string of at most 512 characters. @internal */
export function validateKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0 || key.length > KEY_MAX_LENGTH) {
    throw new ConfigurationError(`Expected \`key\` to be a non-empty string of at most ${KEY_MAX_LENGTH} characters`);
  }
}
