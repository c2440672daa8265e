/**
 * The face of the SDK: hands out access tokens, runs consents, revokes, reports events and closes.
 * Parts are built by the composition root (`defaults.ts`); the refresh itself is `refresh/`.
 * @module
 */
import type {
  AuthorizationContext,
  AuthorizationRequest,
  CompleteAuthorizationOptions,
  StartAuthorizationOptions,
} from './consent/authorization.ts';
import { ClosedError, ConfigurationError } from './errors.ts';
import { tokenState } from './grant/expiry.ts';
import { toGrantInfo, type GrantInfo } from './grant/grant.ts';
import type { TokenResult } from './grant/token.ts';
import type { RevokeContext, RevokeResult } from './consent/revoke.ts';
import type { ResolvedOptions } from './resolve-options.ts';
import { tokenResult, type CacheEntry, type GrantCache } from './refresh/cache.ts';
import type { ResourceEntry } from './refresh/resource-tokens.ts';
import { raceSignal, throwIfAborted, withEitherSignal } from './util/abort.ts';
import { assertOpen, ManagerBase, resourceToken } from './manager/base.ts';
import { isPlainRead, validateCallbackBinding, validateKey, type GetAccessTokenOptions, type ManagerParts } from './manager/calls.ts';

export type { GetAccessTokenOptions, ListGrantsOptions, ManagerParts, ProtectedFetchOptions } from './manager/calls.ts';

/**
 * Hands out access tokens for stored grants, refreshing them (one rotation per grant at a time) and
 * persisting every rotated refresh token before the new access token is used.
 * Create it with `createTokenManager`.
 *
 * @example
 * ```ts
 * const tokens = await createTokenManager({ issuer, clientId, clientSecret, redirectUri, store });
 * const accessToken = await tokens.getAccessToken('user-42');
 * await tokens.close();
 * ```
 */
export class TokenManager extends ManagerBase {
  readonly #now: () => number;
  readonly #auth: AuthorizationContext;
  readonly #revoke: RevokeContext;
  readonly #cache: GrantCache;

  /** @internal Use `createTokenManager`. */
  constructor(parts: ManagerParts, options: ResolvedOptions) {
    super(parts, options);
    this.#now = options.now;
    this.#cache = this.source.cache;
    this.#auth = { store: parts.store, lock: parts.lock, server: parts.server, options, observer: parts.observer };
    this.#revoke = {
      ...this.#auth,
      requestTimeoutMs: options.requestTimeoutMs,
      held: (key) => this.source.held(key),
      forget: (key) => {
        this.source.forget(key);
        this.resources.forget(key);
      },
    };
  }

  /**
   * Builds the consent URL for `key` and keeps the pending transaction (PKCE verifier, nonce) in the
   * store under `state` for `pendingAuthorizationTtlMs`, so the callback may reach another process.
   *
   * @example
   * ```ts
   * const { url } = await tokens.startAuthorization({ key: 'user-42' });
   * res.redirect(url.href);
   * ```
   */
  async startAuthorization(options: StartAuthorizationOptions): Promise<AuthorizationRequest> {
    assertOpen(this.closing.signal);
    validateKey(options?.key);
    throwIfAborted(options.signal);
    // Consent modules (and openid-client) load on first use: serving stored tokens never needs them.
    const { startAuthorization } = await import('./consent/authorization.ts');
    return withEitherSignal(options.signal, this.closing.signal, (either) => startAuthorization(this.#auth, options, either!));
  }

  /**
   * Completes a consent from the full callback URL the server redirected to. The callback must be
   * bound to the browser that started the consent: pass the `state` that `startAuthorization`
   * returned (kept in the user's session cookie), or the `key` your own session says is logged in,
   * or both. Checks the URL against `redirectUri`, the state, the key and the issuer before the code
   * is exchanged; then validates the ID token and persists the grant. Returns its metadata.
   *
   * @throws {ConfigurationError} when neither `state` nor `key` is given.
   * @example
   * ```ts
   * app.get('/callback', async (req, res) => {
   *   const state = readSignedCookie(req, 'consent_state'); // set when the consent started
   *   const grant = await tokens.completeAuthorization(new URL(req.url, 'https://app.example.com'), { state });
   *   res.send(`Connected as ${grant.subject}`);
   * });
   * ```
   */
  async completeAuthorization(callbackUrl: string | URL, options: CompleteAuthorizationOptions): Promise<GrantInfo> {
    assertOpen(this.closing.signal);
    const { state, key, signal } = options ?? {};
    validateCallbackBinding(state, key);
    throwIfAborted(signal);
    const { completeAuthorization } = await import('./consent/authorization.ts');
    const grant = await withEitherSignal(signal, this.closing.signal, (either) => completeAuthorization(this.#auth, callbackUrl, { state, key }, either));
    this.source.forget(grant.key);
    this.resources.forget(grant.key);
    this.source.cacheGrant(grant);
    this.log?.info({ key: grant.key, subject: grant.subject, scope: grant.scope }, 'offline-tokens: consent completed, grant stored');
    return toGrantInfo(grant);
  }

  /**
   * Returns a valid access token for `key`. A cached token is returned from memory; near expiry one
   * refresh runs in the background while callers keep getting the valid token; once it has expired,
   * callers wait for that one refresh. Throws {@link ReauthRequiredError} when the grant is dead.
   *
   * @example
   * ```ts
   * const token = await tokens.getAccessToken('user-42', { signal: AbortSignal.timeout(5_000) });
   * await fetch(api, { headers: { authorization: `Bearer ${token}` } });
   * ```
   */
  getAccessToken(key: string, options?: GetAccessTokenOptions): Promise<string> {
    // Synchronous for every cached call: no forceRefresh, a signal not aborted; with a resource or
    // scope, when this spelling of them was seen before (two paths, each on one entry shape).
    if (options == null || (options.resource === undefined && options.scope === undefined)) {
      const entry = this.#cache.get(key);
      if (entry !== undefined && this.#now() < entry.refreshAt && (options == null || isPlainRead(options))) {
        // Written only when it changes: a hit leaves the entry's memory clean.
        if (!entry.used) entry.used = true;
        this.#cache.hits++;
        return entry.token;
      }
    } else {
      const entry = this.#resourceHit(key, options);
      if (entry !== undefined) return entry.token;
    }
    return this.#getAccessTokenSlow(key, options ?? {});
  }

  /** The cached resource/scope token that answers a call at once, marked used; `undefined`: the slow path. */
  #resourceHit(key: string, options: GetAccessTokenOptions): ResourceEntry | undefined {
    if (!isPlainRead(options)) return undefined;
    const entry = this.resources.peek(key, options.resource, options.scope);
    if (entry === undefined || !(this.#now() < entry.refreshAt)) return undefined;
    if (!entry.used) entry.used = true;
    return entry;
  }

  async #getAccessTokenSlow(key: string, options: GetAccessTokenOptions): Promise<string> {
    if (options.resource !== undefined || options.scope !== undefined) return (await resourceToken(this.resources, this.closing.signal, key, options)).token;
    return (await this.#entrySlow(key, options)).grant.accessToken;
  }

  /**
   * Like {@link TokenManager.getAccessToken}, with the same cost (a cached token is returned as an
   * already-resolved promise held by the cache), but resolves the token with its type, expiry and
   * scope, so a job need not call {@link TokenManager.getGrant} as well.
   *
   * @example
   * ```ts
   * const { accessToken, tokenType, expiresAt, scope } = await tokens.getToken('user-42');
   * await fetch(api, { headers: { authorization: `${tokenType} ${accessToken}` } });
   * ```
   */
  getToken(key: string, options?: GetAccessTokenOptions): Promise<TokenResult> {
    if (options == null || (options.resource === undefined && options.scope === undefined)) {
      const entry = this.#cache.get(key);
      if (entry !== undefined && this.#now() < entry.refreshAt && (options == null || isPlainRead(options))) {
        if (!entry.used) entry.used = true;
        this.#cache.hits++;
        return tokenResult(entry);
      }
    } else {
      const entry = this.#resourceHit(key, options);
      if (entry !== undefined) return entry.result;
    }
    return this.#getTokenSlow(key, options ?? {});
  }

  async #getTokenSlow(key: string, options: GetAccessTokenOptions): Promise<TokenResult> {
    if (options.resource !== undefined || options.scope !== undefined) return (await resourceToken(this.resources, this.closing.signal, key, options)).result;
    return tokenResult(await this.#entrySlow(key, options));
  }

  #entrySlow(key: string, options: GetAccessTokenOptions): Promise<CacheEntry> {
    try { // Not `async`: a miss hands out the store read's own promise (no wrapper, no thenable job).
      validateKey(key);
      assertOpen(this.closing.signal);
      throwIfAborted(options.signal);
    } catch (error) {
      return Promise.reject(error);
    }
    const force = options.forceRefresh === true;
    const entry = this.#cache.get(key);
    if (entry !== undefined && !force) {
      entry.used = true;
      const state = tokenState(entry, this.#now());
      if (state === 'refresh_ahead') this.source.refreshInBackground(key, entry);
      if (state !== 'expired') {
        this.#cache.hits++;
        return Promise.resolve(entry);
      }
    }
    this.#cache.misses++;
    // A miss reads the store without an in-flight entry; only a refresh goes through the single flight.
    if (entry === undefined && !force) return raceSignal(this.source.load(key), options.signal);
    return raceSignal(this.source.sync(key, force, entry?.grant.rotations), options.signal);
  }

  /**
   * Revokes the grant: its refresh token is revoked at the server (RFC 7009) when a revocation
   * endpoint is known, then the grant is deleted from the store. Resolves whether the server
   * confirmed it; a revocation the server refuses still deletes the grant locally and throws.
   *
   * @example
   * ```ts
   * const { revokedAtServer } = await tokens.revoke('user-42'); // user disconnected the integration
   * ```
   */
  async revoke(key: string, options: { signal?: AbortSignal } = {}): Promise<RevokeResult> {
    validateKey(key);
    assertOpen(this.closing.signal);
    const { revokeGrant } = await import('./consent/revoke.ts');
    const result = await withEitherSignal(options.signal, this.closing.signal, (either) => revokeGrant(this.#revoke, key, either));
    this.log?.info({ key, revokedAtServer: result.revokedAtServer }, 'offline-tokens: grant revoked');
    return result;
  }

  /**
   * Stops background work, aborts refreshes in flight, and closes the store and lock the manager
   * opened itself. A grant the store refused is written one last time, and a failure is thrown.
   *
   * @example
   * ```ts
   * process.on('SIGTERM', () => tokens.close());
   * ```
   */
  async close(): Promise<void> {
    if (this.closing.signal.aborted) return;
    this.stopKeepAlive();
    try {
      await this.source.close(() => this.closing.abort(new ClosedError()));
      await this.resources.settled();
      this.resources.clear();
    } finally {
      this.parts.server.close();
      await this.parts.close();
    }
  }
}
