/**
 * The face of the SDK: hands out access tokens, runs consents, revokes, reports events and closes.
 * Parts are built by the composition root (`defaults.ts`); the refresh itself is `refresh/`.
 * @module
 */
import { EventEmitter } from 'node:events';
import {
  completeAuthorization,
  startAuthorization,
  type AuthorizationContext,
  type AuthorizationRequest,
  type CompleteAuthorizationOptions,
  type StartAuthorizationOptions,
} from './consent/authorization.ts';
import { ClosedError, ConfigurationError, ReauthRequiredError, type TokenManagerError } from './errors.ts';
import { createDPoPProof, type DPoPProofRequest } from './grant/dpop-key.ts';
import type { TokenManagerEventName, TokenManagerEvents } from './events.ts';
import { tokenState } from './grant/expiry.ts';
import { toGrantInfo, type Grant, type GrantInfo, type GrantStatus } from './grant/grant.ts';
import type { TokenResult } from './grant/token.ts';
import type { GrantLock } from './locks/lock.ts';
import { revokeGrant, type RevokeContext, type RevokeResult } from './consent/revoke.ts';
import type { ServerConnection } from './oauth/server.ts';
import type { ResolvedOptions } from './resolve-options.ts';
import type { CacheEntry, GrantCache } from './refresh/cache.ts';
import type { RefreshObserver } from './refresh/observer.ts';
import { TokenSource } from './refresh/token-source.ts';
import { ResourceTokens } from './refresh/resource-tokens.ts';
import type { ResourceToken } from './refresh/transaction.ts';
import { normalizeResource } from './grant/resource.ts';
import { startKeepAlive, type KeepAlive, type KeepAliveOptions } from './scheduling/keep-alive.ts';
import { ReauthWarnings } from './scheduling/reauth-warnings.ts';
import type { GrantStore } from './storage/grant-store.ts';
import { raceSignal, throwIfAborted, withEitherSignal } from './util/abort.ts';
import { errorFields, type Logger } from './util/log.ts';

/** Options of {@link TokenManager.getAccessToken}. */
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
}

/** Options of {@link TokenManager.listGrants}. */
export interface ListGrantsOptions {
  /** Only grants with this status. Default: all. */
  status?: GrantStatus;
  /** Stops the listing: the iterator rejects with `signal.reason` at its next step. */
  signal?: AbortSignal;
}

const KEY_MAX_LENGTH = 512;
const GRANT_STATUSES: readonly string[] = ['active', 'reauth_required'];

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

/**
 * Hands out access tokens for stored grants, refreshing them (one rotation per grant at a time) and
 * persisting every rotated refresh token before the new access token is used.
 * Create it with `createTokenManager`.
 */
export class TokenManager {
  readonly #now: () => number;
  readonly #parts: ManagerParts;
  readonly #store: GrantStore;
  readonly #auth: AuthorizationContext;
  readonly #revoke: RevokeContext;
  readonly #events = new EventEmitter();
  readonly #cache: GrantCache;
  readonly #source: TokenSource;
  readonly #resources: ResourceTokens;
  readonly #closing = new AbortController();
  /** Grants made by this manager are DPoP-bound. */
  readonly #dpop: boolean;
  readonly #warnings: ReauthWarnings;
  #keepAlive: KeepAlive | undefined;
  readonly #log: Logger | undefined;

  /** @internal Use `createTokenManager`. */
  constructor(parts: ManagerParts, options: ResolvedOptions) {
    this.#now = options.now;
    this.#parts = parts;
    this.#store = parts.store;
    this.#warnings = new ReauthWarnings({ ...options, maxEntries: options.maxCachedGrants });
    const emit = this.#emit.bind(this);
    this.#log = options.logger;
    this.#dpop = options.dpop !== undefined;
    this.#source = new TokenSource({ store: parts.store, lock: parts.lock, server: parts.server, policy: options, emit, log: options.logger, observer: parts.observer }, {
      maxCachedGrants: options.maxCachedGrants,
      signal: this.#closing.signal,
      onCached: (grant) => {
        this.#keepAlive?.track(grant);
        this.#warnIfDying(grant);
      },
    });
    this.#cache = this.#source.cache;
    this.#resources = new ResourceTokens({ store: parts.store, lock: parts.lock, server: parts.server, policy: options, emit }, this.#source, {
      maxTokensPerGrant: options.maxTokensPerGrant,
      maxGrants: options.maxCachedGrants,
      signal: this.#closing.signal,
    });
    this.#auth = { store: parts.store, lock: parts.lock, server: parts.server, options, observer: parts.observer };
    this.#revoke = {
      ...this.#auth,
      requestTimeoutMs: options.requestTimeoutMs,
      held: (key) => this.#source.held(key),
      forget: (key) => {
        this.#source.forget(key);
        this.#resources.forget(key);
      },
    };
    // An 'error' event never exists: failures are 'refreshFailed', so a missing listener cannot crash.
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
    this.#assertOpen();
    validateKey(options?.key);
    throwIfAborted(options.signal);
    return withEitherSignal(options.signal, this.#closing.signal, (either) => startAuthorization(this.#auth, options, either!));
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
    this.#assertOpen();
    const { state, key, signal } = options ?? {};
    if (state !== undefined && (typeof state !== 'string' || state.length === 0)) {
      throw new ConfigurationError('Expected `state` to be the non-empty string `startAuthorization` returned');
    }
    if (key !== undefined) validateKey(key);
    if (state === undefined && key === undefined) {
      throw new ConfigurationError('Expected `state` (kept in the user\'s session when the consent started) or `key` (the logged-in user): a callback must be bound to the browser that started the consent');
    }
    throwIfAborted(signal);
    const grant = await withEitherSignal(signal, this.#closing.signal, (either) => completeAuthorization(this.#auth, callbackUrl, { state, key }, either));
    this.#source.forget(grant.key);
    this.#resources.forget(grant.key);
    this.#source.cacheGrant(grant);
    this.#log?.info({ key: grant.key, subject: grant.subject, scope: grant.scope }, 'offline-tokens: consent completed, grant stored');
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
    const entry = this.#cache.get(key);
    // Synchronous for every cached call: no options, or a signal not aborted and no forceRefresh.
    if (entry !== undefined && this.#now() < entry.refreshAt && (options == null || isPlainRead(options))) {
      // Written only when it changes: a hit leaves the entry's memory clean.
      if (!entry.used) entry.used = true;
      this.#cache.hits++;
      return entry.token;
    }
    return this.#getAccessTokenSlow(key, options ?? {});
  }

  async #getAccessTokenSlow(key: string, options: GetAccessTokenOptions): Promise<string> {
    if (options.resource !== undefined) return (await this.#resourceToken(key, options)).accessToken;
    return (await this.#entrySlow(key, options)).grant.accessToken;
  }

  /** An access token for one API (RFC 8707), cached per grant and resource; refreshed through the grant's one transaction. */
  async #resourceToken(key: string, options: GetAccessTokenOptions): Promise<ResourceToken> {
    validateKey(key);
    this.#assertOpen();
    throwIfAborted(options.signal);
    const token = this.#resources.get(key, normalizeResource(options.resource!), options.forceRefresh === true);
    return 'accessToken' in token ? token : raceSignal(token, options.signal);
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
    const entry = this.#cache.get(key);
    if (entry !== undefined && this.#now() < entry.refreshAt && (options == null || isPlainRead(options))) {
      if (!entry.used) entry.used = true;
      this.#cache.hits++;
      return entry.result;
    }
    return this.#getTokenSlow(key, options ?? {});
  }

  async #getTokenSlow(key: string, options: GetAccessTokenOptions): Promise<TokenResult> {
    if (options.resource !== undefined) {
      const { accessToken, expiresAt, scope } = await this.#resourceToken(key, options);
      return { accessToken, tokenType: this.#dpop ? 'DPoP' : 'Bearer', expiresAt, scope: scope ?? '' };
    }
    return (await this.#entrySlow(key, options)).result;
  }

  /**
   * Every grant in the store, as metadata (no token), streamed from the store's iterator: usable with
   * any number of grants, never all loaded at once. A grant held in memory because the store refused
   * its last write is reported as held. Unreadable records are skipped (and logged).
   * Throws {@link StoreError} when the store cannot be listed (its Keyv adapter has no iterator).
   *
   * @example
   * ```ts
   * for await (const grant of tokens.listGrants({ status: 'reauth_required' })) {
   *   await emailUser(grant.key, grant.reauthReason);
   * }
   * ```
   */
  async *listGrants(options: ListGrantsOptions = {}): AsyncGenerator<GrantInfo, void, undefined> {
    this.#assertOpen();
    const { status, signal } = options;
    if (status !== undefined && !GRANT_STATUSES.includes(status)) {
      throw new ConfigurationError("Expected `status` to be 'active' or 'reauth_required'");
    }
    throwIfAborted(signal);
    for await (const stored of this.#store.listGrants((key, error) => this.#onUnreadable(key, error))) {
      throwIfAborted(signal);
      const grant = this.#source.held(stored.key) ?? stored;
      if (status === undefined || grant.status === status) yield toGrantInfo(grant);
    }
  }

  /** A stored record that cannot be decoded (another key, a corrupted or foreign record). */
  #onUnreadable(key: string, error: unknown): void {
    this.#log?.warn({ key, ...errorFields(error) }, 'offline-tokens: skipped a stored grant that cannot be read');
  }

  async #entrySlow(key: string, options: GetAccessTokenOptions): Promise<CacheEntry> {
    validateKey(key);
    this.#assertOpen();
    throwIfAborted(options.signal);
    const force = options.forceRefresh === true;
    const entry = this.#cache.get(key);
    if (entry !== undefined && !force) {
      entry.used = true;
      const state = tokenState(entry, this.#now());
      if (state !== 'expired') this.#cache.hits++;
      if (state === 'fresh') return entry;
      if (state === 'refresh_ahead') {
        this.#source.refreshInBackground(key, entry);
        return entry;
      }
    }
    this.#cache.misses++;
    return raceSignal(this.#source.sync(key, force, entry?.grant.rotations), options.signal);
  }

  /**
   * The `DPoP` header value for a request to a resource server with the grant's access token: a proof
   * (RFC 9449) signed with the grant's own key, bound to `method`, `url` and `accessToken` (and `nonce`,
   * when the resource server asked for one with `DPoP-Nonce`). Send the token as `Authorization: DPoP <token>`.
   * @throws {ConfigurationError} when the grant has no DPoP key (it was made without the `dpop` option).
   * @throws {ReauthRequiredError} when no grant is stored for `key`.
   *
   * @example
   * ```ts
   * const accessToken = await tokens.getAccessToken('user-42');
   * const dpop = await tokens.dpopProof('user-42', { method: 'GET', url: api, accessToken });
   * await fetch(api, { headers: { authorization: `DPoP ${accessToken}`, dpop } });
   * ```
   */
  async dpopProof(key: string, request: DPoPProofRequest & { signal?: AbortSignal }): Promise<string> {
    validateKey(key);
    this.#assertOpen();
    const grant = this.#source.held(key) ?? this.#cache.get(key)?.grant ?? await this.#store.getGrant(key, request.signal);
    if (grant === undefined) throw new ReauthRequiredError(key, 'no_grant');
    if (grant.dpopKey === undefined) throw new ConfigurationError('The grant has no DPoP key: it was made without the `dpop` option');
    if (typeof request.method !== 'string' || request.method.length === 0) throw new ConfigurationError('Expected `method` to be a non-empty string');
    // Real time, not the injected clock: the resource server compares `iat` with its own clock.
    return createDPoPProof(grant.dpopKey, request, Date.now());
  }

  /**
   * The grant's metadata (no token), or `undefined` when none is stored.
   *
   * @example
   * ```ts
   * const info = await tokens.getGrant('user-42');
   * console.log(info?.status, new Date(info?.refreshExpiresAt ?? 0));
   * ```
   */
  async getGrant(key: string, options: { signal?: AbortSignal } = {}): Promise<GrantInfo | undefined> {
    validateKey(key);
    this.#assertOpen();
    const grant = this.#source.held(key) ?? await this.#store.getGrant(key, options.signal);
    return grant === undefined ? undefined : toGrantInfo(grant);
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
    this.#assertOpen();
    const result = await withEitherSignal(options.signal, this.#closing.signal, (either) => revokeGrant(this.#revoke, key, either));
    this.#log?.info({ key, revokedAtServer: result.revokedAtServer }, 'offline-tokens: grant revoked');
    return result;
  }

  /**
   * Subscribes to an event. Payloads never carry a token.
   *
   * @example
   * ```ts
   * tokens.on('refreshed', ({ key, rotations }) => log.info({ key, rotations }, 'token refreshed'));
   * ```
   */
  on<E extends TokenManagerEventName>(event: E, listener: (payload: TokenManagerEvents[E]) => void): this {
    this.#events.on(event, listener);
    return this;
  }

  /** Removes a listener added with {@link TokenManager.on}. */
  off<E extends TokenManagerEventName>(event: E, listener: (payload: TokenManagerEvents[E]) => void): this {
    this.#events.off(event, listener);
    return this;
  }

  /**
   * Starts keeping idle grants alive: each grant is rotated `leadTimeMs` before its refresh token would
   * lapse (and after `maxIdleMs` without a refresh), once across all managers sharing the lock. One
   * timer serves all grants. Returns the running keep-alive (the same one when already started).
   *
   * @example
   * ```ts
   * const keepAlive = tokens.startKeepAlive({ leadTimeMs: 2 * 86_400_000 });
   * await keepAlive.ready; // the store was scanned
   * ```
   */
  startKeepAlive(options: KeepAliveOptions = {}): KeepAlive {
    this.#assertOpen();
    this.#keepAlive ??= startKeepAlive({
      now: this.#now,
      listGrants: () => this.#scanGrants(),
      rotate: async (key, seenRotations) => (await this.#source.sync(key, true, seenRotations)).grant,
      onError: (key, error) => this.#emit('refreshFailed', { key, error }),
    }, options);
    return this.#keepAlive;
  }

  /** Every stored grant, announcing those about to die; unreadable records are reported as `refreshFailed`. */
  async *#scanGrants(): AsyncGenerator<Grant> {
    for await (const grant of this.#store.listGrants((key, error) => this.#emit('refreshFailed', { key, error: error as TokenManagerError }))) {
      if (grant.status === 'active') this.#warnIfDying(grant);
      yield grant;
    }
  }

  /** Stops the keep-alive started by {@link TokenManager.startKeepAlive}. */
  stopKeepAlive(): void {
    this.#keepAlive?.stop();
    this.#keepAlive = undefined;
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
    if (this.#closing.signal.aborted) return;
    this.stopKeepAlive();
    try {
      await this.#source.close(() => this.#closing.abort(new ClosedError()));
      await this.#resources.settled();
      this.#resources.clear();
    } finally {
      this.#parts.server.close();
      await this.#parts.close();
    }
  }

  /** Emits `reauthSoon` once per grant and deadline when the deadline is near. */
  #warnIfDying(grant: Grant): void {
    const warning = this.#warnings.check(grant, this.#now());
    if (warning !== undefined) this.#emit('reauthSoon', warning);
  }

  #emit<E extends TokenManagerEventName>(event: E, payload: TokenManagerEvents[E]): void {
    try {
      this.#events.emit(event, payload);
    } catch {
      // A throwing listener must not break a refresh.
    }
  }

  #assertOpen(): void {
    if (this.#closing.signal.aborted) throw new ClosedError();
  }
}

/** Options that do not change what a cached, valid token answers. */
/** A call the cached grant answers: no `forceRefresh`, no `resource` (its own cache), a signal not aborted. */
function isPlainRead(options: GetAccessTokenOptions): boolean {
  return options.forceRefresh !== true && options.resource === undefined && options.signal?.aborted !== true;
}

function validateKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0 || key.length > KEY_MAX_LENGTH) {
    throw new ConfigurationError(`Expected \`key\` to be a non-empty string of at most ${KEY_MAX_LENGTH} characters`);
  }
}
