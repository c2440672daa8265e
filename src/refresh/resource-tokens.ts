/**
 * Access tokens for resources (RFC 8707) and narrower scopes, cached per (grant, resource set, scope)
 * in this process. Each is got by a refresh of the grant that sends `resource` and/or `scope`, through
 * the grant's one refresh transaction (its lock, its fenced write of the rotated refresh token), so a
 * grant still rotates once at a time however many resources it serves, and a rotation for one
 * resource leaves the others' tokens valid.
 * @module
 */
import { ClosedError, ReauthRequiredError, ServerUnavailableError, TokenManagerError } from '../errors.ts';
import { tokenState } from '../grant/expiry.ts';
import { normalizeResource, normalizeScope } from '../grant/resource.ts';
import type { RefreshContext } from './transaction.ts';
import { loadRefreshGrant } from './load-transaction.ts';
import { ResourceCache, type ResourceEntry } from './resource-cache.ts';
import type { TokenSource } from './token-source.ts';

export type { ResourceEntry } from './resource-cache.ts';

/** What a token is asked for besides the grant's own, as the caller wrote it. */
export interface TokenTarget {
  resource?: string | URL | ReadonlyArray<string | URL> | undefined;
  scope?: string | readonly string[] | undefined;
}

/** The canonical form of a {@link TokenTarget}. */
interface Target {
  resources: readonly string[] | undefined;
  scope: string | undefined;
  /** Cache and single-flight identity. */
  id: string;
}

/** Settings of a {@link ResourceTokens}. @internal */
export interface ResourceTokensOptions {
  /** Most resource tokens cached per grant (least recently used evicted). */
  maxTokensPerGrant: number;
  /** Most grants with resource tokens cached (oldest dropped first). */
  maxGrants: number;
  /** Ends background work. */
  signal: AbortSignal;
}

/** Refreshes that found a newer grant (a fenced write lost) before giving up: each is a rotation by someone else. */
const MAX_ATTEMPTS = 3;

/** @internal */
export class ResourceTokens {
  readonly #ctx: RefreshContext;
  readonly #source: TokenSource;
  readonly #options: ResourceTokensOptions;
  readonly #cache: ResourceCache;
  readonly #inflight = new Map<string, Promise<ResourceEntry>>();

  constructor(ctx: RefreshContext, source: TokenSource, options: ResourceTokensOptions) {
    this.#ctx = ctx;
    this.#source = source;
    this.#options = options;
    this.#cache = new ResourceCache({ ...options, refreshWindowMs: ctx.policy.refreshWindowMs });
  }

  /**
   * The hot path: the entry cached for this exact spelling of `resource` and `scope`, if any (the
   * caller checks `refreshAt`). Allocates nothing.
   */
  peek(key: string, resource: unknown, scope: unknown): ResourceEntry | undefined {
    return this.#cache.peek(key, resource, scope);
  }

  /**
   * A valid access token of `key`'s grant for `target`: cached while fresh, refreshed in the
   * background inside the refresh window, else got by a refresh.
   * @throws {ConfigurationError} for a resource or scope that is not valid (synchronously).
   */
  get(key: string, target: TokenTarget, force: boolean): Promise<ResourceEntry> | ResourceEntry {
    const resources = target.resource === undefined ? undefined : normalizeResource(target.resource);
    const scope = target.scope === undefined ? undefined : normalizeScope(target.scope);
    const id = `${resources?.join(' ') ?? ''}\n${scope ?? ''}`;
    const entry = this.#cache.get(key, id);
    if (entry !== undefined && !force) {
      const state = tokenState(entry, this.#ctx.policy.now());
      if (state !== 'expired') {
        this.#cache.alias(key, target.resource, target.scope, entry);
        if (state === 'refresh_ahead' && !this.#inflight.has(`${key}\n${id}`)) this.#sync(key, { resources, scope, id }).catch(() => {});
        return entry;
      }
    }
    return this.#sync(key, { resources, scope, id }).then((next) => {
      this.#cache.alias(key, target.resource, target.scope, next);
      return next;
    });
  }

  /** Drops every resource token of `key` (a new consent or a revocation). */
  forget(key: string): void {
    this.#cache.forget(key);
  }

  clear(): void {
    this.#cache.clear();
  }

  /** In flight, for `close()` to wait on. */
  settled(): Promise<unknown> {
    return Promise.allSettled(this.#inflight.values());
  }

  /** Single flight per (grant, resource set, scope) in this process. */
  #sync(key: string, target: Target): Promise<ResourceEntry> {
    const flight = `${key}\n${target.id}`;
    const inflight = this.#inflight.get(flight);
    if (inflight !== undefined) return inflight;
    const promise = this.#refresh(key, target).finally(() => this.#inflight.delete(flight));
    this.#inflight.set(flight, promise);
    return promise;
  }

  async #refresh(key: string, target: Target): Promise<ResourceEntry> {
    const { signal } = this.#options;
    const { emit } = this.#ctx;
    try {
      // A rotated grant the store refused is written first: the store must hold the live refresh token.
      if (this.#source.held(key) !== undefined) await this.#source.sync(key, false, undefined);
      for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        const refreshGrant = await loadRefreshGrant();
        const outcome = await refreshGrant(this.#ctx, key, { force: true, seenRotations: undefined, resource: target.resources, scope: target.scope }, signal);
        if ('unpersisted' in outcome) {
          this.#source.hold(outcome);
          throw outcome.error;
        }
        this.#source.cacheGrant(outcome.grant);
        if (outcome.resourceToken !== undefined) {
          emit('refreshed', { key, rotations: outcome.grant.rotations, expiresAt: outcome.resourceToken.expiresAt });
          const tokenType = outcome.grant.dpopKey !== undefined ? 'DPoP' : 'Bearer';
          return this.#cache.set(key, target.id, outcome.resourceToken, tokenType, target.scope);
        }
        // Another refresher rotated first (the fenced write lost): refresh again from its grant.
      }
      throw new ServerUnavailableError('The grant kept being rotated by other refreshers: no token was got for the resource');
    } catch (error) {
      if (error instanceof ReauthRequiredError) this.forget(key);
      const reported = error instanceof TokenManagerError ? error : signal.aborted ? new ClosedError() : undefined;
      if (reported !== undefined) emit('refreshFailed', { key, error: reported });
      throw error;
    }
  }
}
