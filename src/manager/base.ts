/**
 * What the face of the SDK ({@link TokenManager}) stands on: its parts wired together (the token
 * source, the resource tokens, the watch over idle grants), its events, and the calls beside handing
 * out tokens: listing and reading grants, DPoP proofs, keep-alive.
 * @module
 */
import { EventEmitter } from 'node:events';
import { ClosedError, ConfigurationError, ReauthRequiredError } from '../errors.ts';
import { createDPoPProof, type DPoPProofRequest } from '../grant/dpop-key.ts';
import type { TokenManagerEventName, TokenManagerEvents } from '../events.ts';
import { toGrantInfo, type GrantInfo } from '../grant/grant.ts';
import type { ResolvedOptions } from '../resolve-options.ts';
import { TokenSource } from '../refresh/token-source.ts';
import { ResourceTokens, type ResourceEntry } from '../refresh/resource-tokens.ts';
import { DPoPNonces, protectedFetch } from '../refresh/protected-fetch.ts';
import type { TokenResult } from '../grant/token.ts';
import type { KeepAlive, KeepAliveOptions } from '../scheduling/keep-alive.ts';
import type { GrantStore } from '../storage/grant-store.ts';
import { raceSignal, throwIfAborted } from '../util/abort.ts';
import { errorFields, type Logger } from '../util/log.ts';
import { GRANT_STATUSES, validateKey, type GetAccessTokenOptions, type ListGrantsOptions, type ManagerParts, type ProtectedFetchOptions } from './calls.ts';
import { GrantWatch } from './keep-alive.ts';

/** The parts of a manager and its calls other than handing out tokens. Extended by `TokenManager` only. @internal */
export abstract class ManagerBase {
  protected readonly parts: ManagerParts;
  protected readonly store: GrantStore;
  protected readonly source: TokenSource;
  protected readonly resources: ResourceTokens;
  protected readonly closing = new AbortController();
  protected readonly log: Logger | undefined;
  readonly #events = new EventEmitter();
  readonly #watch: GrantWatch;
  readonly #nonces = new DPoPNonces();

  constructor(parts: ManagerParts, options: ResolvedOptions) {
    this.parts = parts;
    this.store = parts.store;
    this.log = options.logger;
    const emit = this.#emit.bind(this);
    this.#watch = new GrantWatch({
      now: options.now,
      store: parts.store,
      rotate: async (key, seenRotations) => (await this.source.sync(key, true, seenRotations)).grant,
      emit,
    }, options);
    this.source = new TokenSource({ store: parts.store, lock: parts.lock, server: parts.server, policy: options, emit, log: options.logger, observer: parts.observer }, {
      maxCachedGrants: options.maxCachedGrants,
      signal: this.closing.signal,
      onCached: (grant) => this.#watch.onCached(grant),
    });
    this.resources = new ResourceTokens({ store: parts.store, lock: parts.lock, server: parts.server, policy: options, emit }, this.source, {
      maxTokensPerGrant: options.maxTokensPerGrant,
      maxGrants: options.maxCachedGrants,
      signal: this.closing.signal,
    });
    // An 'error' event never exists: failures are 'refreshFailed', so a missing listener cannot crash.
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
    assertOpen(this.closing.signal);
    const { status, signal } = options;
    if (status !== undefined && !GRANT_STATUSES.includes(status)) {
      throw new ConfigurationError("Expected `status` to be 'active' or 'reauth_required'");
    }
    throwIfAborted(signal);
    for await (const stored of this.store.listGrants((key, error) => this.#onUnreadable(key, error))) {
      throwIfAborted(signal);
      const grant = this.source.held(stored.key) ?? stored;
      if (status === undefined || grant.status === status) yield toGrantInfo(grant);
    }
  }

  /** A stored record that cannot be decoded (another key, a corrupted or foreign record). */
  #onUnreadable(key: string, error: unknown): void {
    this.log?.warn({ key, ...errorFields(error) }, 'offline-tokens: skipped a stored grant that cannot be read');
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
    assertOpen(this.closing.signal);
    const grant = this.source.held(key) ?? this.source.cache.get(key)?.grant ?? await this.store.getGrant(key, request.signal);
    if (grant === undefined) throw new ReauthRequiredError(key, 'no_grant');
    if (grant.dpopKey === undefined) throw new ConfigurationError('The grant has no DPoP key: it was made without the `dpop` option');
    if (typeof request.method !== 'string' || request.method.length === 0) throw new ConfigurationError('Expected `method` to be a non-empty string');
    // Real time, not the injected clock: the resource server compares `iat` with its own clock.
    return createDPoPProof(grant.dpopKey, request, Date.now());
  }

  /** Implemented by the face: the token with its type, expiry and scope. */
  abstract getToken(key: string, options?: GetAccessTokenOptions): Promise<TokenResult>;

  /**
   * A request to a protected resource with the grant's access token: `Authorization: <type> <token>`,
   * plus a `DPoP` proof when the grant is DPoP-bound, retried once with the resource server's nonce
   * when it asks for one (401 `use_dpop_nonce` with `DPoP-Nonce`, RFC 9449 §9; the nonce is kept per
   * origin for the next requests), and once with a forced refresh when it refuses the token (401
   * `invalid_token`, or a 401 naming no error). `input` and `init` are those of the global `fetch`;
   * a body is replayed for a retry. Resolves the last response, whatever its status.
   *
   * @example
   * ```ts
   * const response = await tokens.fetch('user-42', 'https://api.example/a/me', { method: 'GET' }, { resource: 'https://api.example/a' });
   * if (!response.ok) throw new Error(`API answered ${response.status}`);
   * ```
   */
  async fetch(key: string, input: string | URL | Request, init?: RequestInit, options: ProtectedFetchOptions = {}): Promise<Response> {
    const signal = options.signal === undefined || init?.signal == null ? options.signal ?? init?.signal ?? undefined : AbortSignal.any([options.signal, init.signal]);
    const target = { resource: options.resource, scope: options.scope };
    return protectedFetch({
      getToken: (force, either) => this.getToken(key, { ...target, forceRefresh: force, signal: either }),
      proof: (request) => this.dpopProof(key, { ...request, signal }),
      nonces: this.#nonces,
    }, input, init, signal);
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
    assertOpen(this.closing.signal);
    const grant = this.source.held(key) ?? await this.store.getGrant(key, options.signal);
    return grant === undefined ? undefined : toGrantInfo(grant);
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
    assertOpen(this.closing.signal);
    return this.#watch.startKeepAlive(options);
  }

  /** Stops the keep-alive started by {@link TokenManager.startKeepAlive}. */
  stopKeepAlive(): void {
    this.#watch.stopKeepAlive();
  }

  /** Emits an event; a throwing listener is ignored. */
  #emit<E extends TokenManagerEventName>(event: E, payload: TokenManagerEvents[E]): void {
    try {
      this.#events.emit(event, payload);
    } catch {
      // A throwing listener must not break a refresh.
    }
  }
}

/** A token for one API (RFC 8707) or a narrower scope, cached per (key, resource, scope); refreshed through the grant's one transaction. */
export async function resourceToken(resources: ResourceTokens, closing: AbortSignal, key: string, options: GetAccessTokenOptions): Promise<ResourceEntry> {
  validateKey(key);
  assertOpen(closing);
  throwIfAborted(options.signal);
  const entry = resources.get(key, options, options.forceRefresh === true);
  return 'then' in entry ? raceSignal(entry, options.signal) : entry;
}

/** Throws {@link ClosedError} once the manager is closed. @internal */
export function assertOpen(closing: AbortSignal): void {
  if (closing.aborted) throw new ClosedError();
}
