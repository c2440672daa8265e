/**
 * The token manager: consent, storage, and `getAccessToken()` with single-flight refresh.
 * @module
 */
import { EventEmitter } from 'node:events';
import Keyv from 'keyv';
import { anySignal, raceSignal, throwIfAborted } from './abort.ts';
import {
  completeAuthorization,
  startAuthorization,
  type AuthorizationContext,
  type AuthorizationRequest,
  type StartAuthorizationOptions,
} from './authorization.ts';
import { canAdopt } from './adopt.ts';
import { ClosedError, ConfigurationError, ReauthRequiredError, ServerUnavailableError, TokenManagerError, type ReauthReason } from './errors.ts';
import type { TokenManagerEventName, TokenManagerEvents } from './events.ts';
import { tokenState } from './expiry.ts';
import { GrantCache, type CacheEntry } from './grant-cache.ts';
import { grantDeadline, toGrantInfo, type Grant, type GrantInfo } from './grant.ts';
import { startKeepAlive, type KeepAlive, type KeepAliveOptions } from './keep-alive.ts';
import { createInProcessLock, type GrantLock } from './lock.ts';
import { discover, revokeRefreshToken, type OAuthClient } from './oauth.ts';
import { resolveOptions, type ResolvedOptions, type TokenManagerOptions } from './options.ts';
import { PersistFailed, refreshGrant, type RefreshContext } from './refresh.ts';
import { SqliteStore } from './sqlite-store.ts';
import { createSqliteLock } from './sqlite-lock.ts';
import { GrantStore, StaleWrite } from './store.ts';

/** Options of {@link TokenManager.getAccessToken}. */
export interface GetAccessTokenOptions {
  /** Stop waiting (the shared refresh goes on for other callers). */
  signal?: AbortSignal;
  /** Get a new access token even if the current one looks valid (e.g. after an API answered 401). */
  forceRefresh?: boolean;
}

/** A rotated grant the store refused, with the refresh token it was rotated from (its write's fence). */
interface Held {
  grant: Grant;
  rotatedFrom: string;
  attempt: number;
  timer: NodeJS.Timeout | undefined;
}

const KEY_MAX_LENGTH = 512;
const PERSIST_RETRY_MIN_MS = 500;
const PERSIST_RETRY_MAX_MS = 30_000;

/**
 * Creates a token manager: discovers the issuer, opens the store (default: a SQLite file), and is
 * ready to start consents and hand out access tokens.
 *
 * @example
 * ```ts
 * import { createTokenManager } from 'offline-tokens';
 * const tokens = await createTokenManager({
 *   issuer: 'https://idp.example.com',
 *   clientId: 'my-app',
 *   clientSecret: process.env.CLIENT_SECRET,
 *   redirectUri: 'https://app.example.com/callback',
 * });
 * const accessToken = await tokens.getAccessToken('user-42');
 * ```
 */
export async function createTokenManager(options: TokenManagerOptions & { signal?: AbortSignal }): Promise<TokenManager> {
  const resolved = resolveOptions(options);
  const oauth = await discover(resolved, options.signal);
  return new TokenManager(resolved, oauth);
}

/**
 * Hands out access tokens for stored grants, refreshing them (one rotation per grant at a time) and
 * persisting every rotated refresh token before the new access token is used.
 * Create it with {@link createTokenManager}.
 */
export class TokenManager {
  readonly #options: ResolvedOptions;
  readonly #now: () => number;
  readonly #store: GrantStore;
  readonly #ownsStore: boolean;
  readonly #lock: GrantLock;
  readonly #ownsLock: boolean;
  readonly #refresh: RefreshContext;
  readonly #auth: AuthorizationContext;
  readonly #events = new EventEmitter();
  readonly #cache: GrantCache;
  readonly #inflight = new Map<string, Promise<CacheEntry>>();
  /** Rotated grants the store refused: held here until written, never dropped. */
  readonly #unpersisted = new Map<string, Held>();
  readonly #closing = new AbortController();
  /** key → deadline already announced with `reauthSoon`. */
  readonly #warned = new Map<string, number>();
  #keepAlive: KeepAlive | undefined;

  /** @internal Use {@link createTokenManager}. */
  constructor(options: ResolvedOptions, oauth: OAuthClient) {
    this.#options = options;
    this.#now = options.now;
    this.#cache = new GrantCache(options.maxCachedGrants, options.refreshWindowMs);
    let sqlite: SqliteStore | undefined;
    if (options.store === undefined) sqlite = new SqliteStore({ path: options.sqlitePath });
    this.#ownsStore = sqlite !== undefined;
    this.#ownsLock = options.lock === undefined;
    this.#lock = options.lock ?? (sqlite !== undefined ? createSqliteLock({ database: sqlite.database }) : createInProcessLock());
    this.#store = new GrantStore(options.store ?? new Keyv({ store: sqlite }), {
      operationTimeoutMs: options.storeTimeoutMs,
      codec: options.codec,
      lock: this.#lock,
    });
    const emit = this.#emit.bind(this);
    this.#refresh = { store: this.#store, lock: this.#lock, oauth, options, emit };
    this.#auth = { store: this.#store, lock: this.#lock, oauth, options };
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
    return startAuthorization(this.#auth, options);
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
    this.#discardUnpersisted(grant.key);
    this.#cacheGrant(grant);
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
    if (entry !== undefined && options === undefined && this.#now() < entry.refreshAt) {
      entry.used = true;
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
        this.#refreshInBackground(key, entry);
        return entry.grant.accessToken;
      }
    }
    const next = await raceSignal(this.#sync(key, force, entry?.grant.rotations), options.signal);
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
    const pending = this.#unpersisted.get(key)?.grant;
    const grant = pending ?? await this.#store.getGrant(key, options.signal);
    return grant === undefined ? undefined : toGrantInfo(grant);
  }

  /**
   * Revokes the grant: its refresh token is revoked at the server (RFC 7009) when the server has a
   * revocation endpoint, then the grant is deleted from the store. A revocation the server refuses
   * still deletes the grant locally and rethrows.
   *
   * @example
   * ```ts
   * await tokens.revoke('user-42'); // user disconnected the integration
   * ```
   */
  async revoke(key: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    validateKey(key);
    this.#assertOpen();
    const signal = anySignal(options.signal, this.#closing.signal);
    await this.#lock.withLock(key, async (lease) => {
      const grant = this.#unpersisted.get(key)?.grant ?? await this.#store.getGrant(key, lease.signal);
      let failure: unknown;
      if (grant !== undefined && this.#refresh.oauth.supportsRevocation) {
        try {
          await revokeRefreshToken(this.#refresh.oauth, grant.refreshToken, anySignal(lease.signal, AbortSignal.timeout(this.#options.requestTimeoutMs)));
        } catch (error) {
          failure = error;
        }
      }
      await this.#store.deleteGrant(key, lease.signal);
      this.#discardUnpersisted(key);
      this.#cache.delete(key);
      if (failure !== undefined) {
        if (lease.signal.aborted) throw lease.signal.reason;
        throw new ServerUnavailableError('The grant was deleted, but the server did not confirm revoking its refresh token', { cause: failure });
      }
    }, { signal });
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
      rotate: async (key, seenRotations) => (await this.#sync(key, true, seenRotations)).grant,
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
    let failure: unknown;
    for (const key of [...this.#unpersisted.keys()]) {
      try {
        await this.#flushUnpersisted(key, undefined);
      } catch (error) {
        failure ??= error;
      }
    }
    // A failed last write re-armed its retry timer: nothing retries after close.
    for (const held of this.#unpersisted.values()) clearTimeout(held.timer);
    this.#closing.abort(new ClosedError());
    await Promise.allSettled(this.#inflight.values());
    this.#cache.clear();
    if (this.#ownsLock) await this.#lock.close?.();
    if (this.#ownsStore) await this.#store.keyv.disconnect();
    if (failure !== undefined) throw failure;
  }

  /** Single flight: one resolution per key in this process, however many callers wait. */
  #sync(key: string, force: boolean, seenRotations: number | undefined): Promise<CacheEntry> {
    const inflight = this.#inflight.get(key);
    if (inflight !== undefined) return inflight;
    const promise = this.#resolve(key, force, seenRotations).finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, promise);
    return promise;
  }

  #refreshInBackground(key: string, entry: CacheEntry): void {
    if (this.#inflight.has(key)) return;
    this.#sync(key, false, entry.grant.rotations).catch(() => {
      // Reported through 'refreshFailed'; callers keep the still-valid token until it expires.
    });
  }

  async #resolve(key: string, force: boolean, seenRotations: number | undefined): Promise<CacheEntry> {
    const signal = this.#closing.signal;
    try {
      await this.#flushUnpersisted(key, signal);
      const request = { force, seenRotations };
      const stored = await this.#store.getGrant(key, signal);
      if (stored !== undefined && stored.status !== 'active') throw new ReauthRequiredError(key, stored.reauthReason ?? 'invalid_grant');
      if (stored !== undefined && canAdopt(stored, this.#now(), this.#options.refreshWindowMs, request)) return this.#cacheGrant(stored);
      const { grant, refreshed } = await refreshGrant(this.#refresh, key, request, signal);
      const entry = this.#cacheGrant(grant);
      if (refreshed) this.#emit('refreshed', { key, rotations: grant.rotations, expiresAt: grant.expiresAt });
      return entry;
    } catch (error) {
      if (error instanceof PersistFailed) this.#holdUnpersisted(error.grant, error.rotatedFrom, error);
      if (error instanceof ReauthRequiredError) this.#onReauth(key, error.reason);
      const reported = error instanceof TokenManagerError ? error : signal.aborted ? new ClosedError() : undefined;
      if (reported !== undefined) this.#emit('refreshFailed', { key, error: reported });
      throw error;
    }
  }

  /**
   * A dead grant's access token is still served until it expires when the server did not revoke it
   * (rotation lost, or our own lifetime estimate ran out); never again refreshed.
   */
  #onReauth(key: string, reason: ReauthReason): void {
    const entry = this.#cache.get(key);
    if (entry !== undefined && (reason === 'rotation_lost' || reason === 'expired') && this.#now() < entry.usableUntil) {
      entry.refreshAt = entry.usableUntil;
    } else {
      this.#cache.delete(key);
    }
  }

  #cacheGrant(grant: Grant): CacheEntry {
    this.#keepAlive?.track(grant);
    this.#warnIfDying(grant);
    return this.#cache.set(grant);
  }

  /** Emits `reauthSoon` once per grant and deadline when the deadline is near. */
  #warnIfDying(grant: Grant): void {
    const deadline = grantDeadline(grant, this.#options.maxGrantLifetimeMs);
    if (this.#now() < deadline.at - this.#options.reauthWarningMs || this.#warned.get(grant.key) === deadline.at) return;
    this.#warned.set(grant.key, deadline.at);
    this.#emit('reauthSoon', { key: grant.key, at: deadline.at, reason: deadline.reason });
  }

  /** Keeps a rotated grant the store refused, and retries the write with backoff. */
  #holdUnpersisted(grant: Grant, rotatedFrom: string, error: TokenManagerError): void {
    const held = this.#unpersisted.get(grant.key);
    const attempt = (held?.attempt ?? 0) + 1;
    clearTimeout(held?.timer);
    const delayMs = Math.min(PERSIST_RETRY_MAX_MS, PERSIST_RETRY_MIN_MS * 2 ** (attempt - 1));
    const timer = setTimeout(() => {
      this.#flushUnpersisted(grant.key, this.#closing.signal).catch(() => {});
    }, delayMs);
    timer.unref();
    this.#unpersisted.set(grant.key, { grant, rotatedFrom, attempt, timer });
    this.#cache.delete(grant.key);
    this.#emit('persistFailed', { key: grant.key, error, attempt });
  }

  /**
   * Writes a held grant (fenced: a newer grant in the store, e.g. a new consent, wins and the held one
   * is dropped); the caller may proceed only when this resolves.
   */
  async #flushUnpersisted(key: string, signal: AbortSignal | undefined): Promise<void> {
    const held = this.#unpersisted.get(key);
    if (held === undefined) return;
    try {
      await this.#store.setGrant(held.grant, signal, { refreshToken: held.rotatedFrom });
    } catch (error) {
      if (error instanceof StaleWrite) {
        this.#discardUnpersisted(key);
        return;
      }
      if (this.#unpersisted.get(key) === held && !signal?.aborted) this.#holdUnpersisted(held.grant, held.rotatedFrom, error as TokenManagerError);
      throw error;
    }
    if (this.#unpersisted.get(key) !== held) return;
    clearTimeout(held.timer);
    this.#unpersisted.delete(key);
    this.#cacheGrant(held.grant);
    this.#emit('persisted', { key, rotations: held.grant.rotations });
  }

  #discardUnpersisted(key: string): void {
    clearTimeout(this.#unpersisted.get(key)?.timer);
    this.#unpersisted.delete(key);
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

function validateKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0 || key.length > KEY_MAX_LENGTH) {
    throw new ConfigurationError(`Expected \`key\` to be a non-empty string of at most ${KEY_MAX_LENGTH} characters`);
  }
}
