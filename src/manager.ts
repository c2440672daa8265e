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
  type StartAuthorizationOptions,
} from './consent/authorization.ts';
import { ClosedError, ConfigurationError, type TokenManagerError } from './errors.ts';
import type { TokenManagerEventName, TokenManagerEvents } from './events.ts';
import { tokenState } from './grant/expiry.ts';
import { toGrantInfo, type Grant, type GrantInfo } from './grant/grant.ts';
import type { GrantLock } from './locks/lock.ts';
import { revokeGrant, type RevokeContext, type RevokeResult } from './consent/revoke.ts';
import type { ServerConnection } from './oauth/server.ts';
import type { ResolvedOptions } from './options.ts';
import type { GrantCache } from './refresh/cache.ts';
import { TokenSource } from './refresh/token-source.ts';
import { startKeepAlive, type KeepAlive, type KeepAliveOptions } from './scheduling/keep-alive.ts';
import { ReauthWarnings } from './scheduling/reauth-warnings.ts';
import type { GrantStore } from './storage/grant-store.ts';
import { anySignal, raceSignal, throwIfAborted } from './util/abort.ts';

/** Options of {@link TokenManager.getAccessToken}. */
export interface GetAccessTokenOptions {
  /** Stop waiting (the shared refresh goes on for other callers). */
  signal?: AbortSignal;
  /** Get a new access token even if the current one looks valid (e.g. after an API answered 401). */
  forceRefresh?: boolean;
}

const KEY_MAX_LENGTH = 512;

/** What a manager runs on, built by the composition root. @internal */
export interface ManagerParts {
  store: GrantStore;
  lock: GrantLock;
  /** The authorization server, connected on first need. */
  server: ServerConnection;
  /** Closes what the composition root opened for this manager. */
  close(): Promise<void>;
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
  readonly #closing = new AbortController();
  readonly #warnings: ReauthWarnings;
  #keepAlive: KeepAlive | undefined;

  /** @internal Use `createTokenManager`. */
  constructor(parts: ManagerParts, options: ResolvedOptions) {
    this.#now = options.now;
    this.#parts = parts;
    this.#store = parts.store;
    this.#warnings = new ReauthWarnings({ ...options, maxEntries: options.maxCachedGrants });
    const emit = this.#emit.bind(this);
    this.#source = new TokenSource({ store: parts.store, lock: parts.lock, server: parts.server, policy: options, emit }, {
      maxCachedGrants: options.maxCachedGrants,
      signal: this.#closing.signal,
      onCached: (grant) => {
        this.#keepAlive?.track(grant);
        this.#warnIfDying(grant);
      },
    });
    this.#cache = this.#source.cache;
    this.#auth = { store: parts.store, lock: parts.lock, server: parts.server, options };
    this.#revoke = {
      ...this.#auth,
      requestTimeoutMs: options.requestTimeoutMs,
      held: (key) => this.#source.held(key),
      forget: (key) => this.#source.forget(key),
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
    return startAuthorization(this.#auth, options, anySignal(options.signal, this.#closing.signal)!);
  }

  /**
   * Completes a consent from the full callback URL the server redirected to: checks state and issuer,
   * exchanges the code, validates the ID token, and persists the grant. Returns its metadata.
   *
   * @example
   * ```ts
   * app.get('/callback', async (req, res) => {
   *   const grant = await tokens.completeAuthorization(new URL(req.url, 'https://app.example.com'));
   *   res.send(`Connected as ${grant.subject}`);
   * });
   * ```
   */
  async completeAuthorization(callbackUrl: string | URL, options: { signal?: AbortSignal } = {}): Promise<GrantInfo> {
    this.#assertOpen();
    throwIfAborted(options.signal);
    const grant = await completeAuthorization(this.#auth, callbackUrl, anySignal(options.signal, this.#closing.signal));
    this.#source.forget(grant.key);
    this.#source.cacheGrant(grant);
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
      return entry.token;
    }
    return this.#getAccessTokenSlow(key, options ?? {});
  }

  async #getAccessTokenSlow(key: string, options: GetAccessTokenOptions): Promise<string> {
    validateKey(key);
    this.#assertOpen();
    throwIfAborted(options.signal);
    const force = options.forceRefresh === true;
    const entry = this.#cache.get(key);
    if (entry !== undefined && !force) {
      entry.used = true;
      const state = tokenState(entry, this.#now());
      if (state === 'fresh') return entry.grant.accessToken;
      if (state === 'refresh_ahead') {
        this.#source.refreshInBackground(key, entry);
        return entry.grant.accessToken;
      }
    }
    const next = await raceSignal(this.#source.sync(key, force, entry?.grant.rotations), options.signal);
    return next.grant.accessToken;
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
    return revokeGrant(this.#revoke, key, anySignal(options.signal, this.#closing.signal));
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
    } finally {
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
function isPlainRead(options: GetAccessTokenOptions): boolean {
  return options.forceRefresh !== true && options.signal?.aborted !== true;
}

function validateKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0 || key.length > KEY_MAX_LENGTH) {
    throw new ConfigurationError(`Expected \`key\` to be a non-empty string of at most ${KEY_MAX_LENGTH} characters`);
  }
}
