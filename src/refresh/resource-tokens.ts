/**
 * Access tokens for resources (RFC 8707), cached per (grant, resource) in this process. Each is got
 * by a refresh of the grant for that resource, through the grant's one refresh transaction (its lock,
 * its fenced write of the rotated refresh token), so a grant still rotates once at a time however
 * many resources it serves, and a rotation for one resource leaves the others' tokens valid.
 * @module
 */
import { ClosedError, ReauthRequiredError, ServerUnavailableError, TokenManagerError } from '../errors.ts';
import { refreshTiming, tokenState, type RefreshTiming } from '../grant/expiry.ts';
import { refreshGrant, type RefreshContext, type ResourceToken } from './transaction.ts';
import type { TokenSource } from './token-source.ts';

/** A cached resource token. */
interface ResourceEntry extends RefreshTiming {
  token: ResourceToken;
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
  /** key → resource id → entry; both maps kept in use order (least recent first). */
  readonly #entries = new Map<string, Map<string, ResourceEntry>>();
  readonly #inflight = new Map<string, Promise<ResourceEntry>>();

  constructor(ctx: RefreshContext, source: TokenSource, options: ResourceTokensOptions) {
    this.#ctx = ctx;
    this.#source = source;
    this.#options = options;
  }

  /**
   * A valid access token of `key`'s grant for `resources` (sorted, without duplicates): cached while
   * fresh, refreshed in the background inside the refresh window, else got by a refresh.
   */
  get(key: string, resources: readonly string[], force: boolean): Promise<ResourceToken> | ResourceToken {
    const id = resources.join(' ');
    const perGrant = this.#entries.get(key);
    const entry = perGrant?.get(id);
    if (entry !== undefined && !force) {
      perGrant!.delete(id);
      perGrant!.set(id, entry);
      const state = tokenState(entry, this.#ctx.policy.now());
      if (state === 'fresh') return entry.token;
      if (state === 'refresh_ahead') {
        if (!this.#inflight.has(`${key}\n${id}`)) this.#sync(key, resources, id).catch(() => {});
        return entry.token;
      }
    }
    return this.#sync(key, resources, id).then((next) => next.token);
  }

  /** Drops every resource token of `key` (a new consent or a revocation). */
  forget(key: string): void {
    this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }

  /** In flight, for `close()` to wait on. */
  settled(): Promise<unknown> {
    return Promise.allSettled(this.#inflight.values());
  }

  /** Single flight per (grant, resource) in this process. */
  #sync(key: string, resources: readonly string[], id: string): Promise<ResourceEntry> {
    const flight = `${key}\n${id}`;
    const inflight = this.#inflight.get(flight);
    if (inflight !== undefined) return inflight;
    const promise = this.#refresh(key, resources, id).finally(() => this.#inflight.delete(flight));
    this.#inflight.set(flight, promise);
    return promise;
  }

  async #refresh(key: string, resources: readonly string[], id: string): Promise<ResourceEntry> {
    const { signal } = this.#options;
    const { emit } = this.#ctx;
    try {
      // A rotated grant the store refused is written first: the store must hold the live refresh token.
      if (this.#source.held(key) !== undefined) await this.#source.sync(key, false, undefined);
      for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        const outcome = await refreshGrant(this.#ctx, key, { force: true, seenRotations: undefined, resource: resources }, signal);
        if ('unpersisted' in outcome) {
          this.#source.hold(outcome);
          throw outcome.error;
        }
        this.#source.cacheGrant(outcome.grant);
        if (outcome.resourceToken !== undefined) {
          emit('refreshed', { key, rotations: outcome.grant.rotations, expiresAt: outcome.resourceToken.expiresAt });
          return this.#cache(key, id, outcome.resourceToken);
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

  #cache(key: string, id: string, token: ResourceToken): ResourceEntry {
    const entry: ResourceEntry = { token, ...refreshTiming(token, this.#ctx.policy.refreshWindowMs, Math.random()) };
    let perGrant = this.#entries.get(key);
    if (perGrant === undefined) {
      perGrant = new Map();
      this.#entries.set(key, perGrant);
      if (this.#entries.size > this.#options.maxGrants) this.#entries.delete(this.#entries.keys().next().value!);
    }
    perGrant.delete(id);
    perGrant.set(id, entry);
    if (perGrant.size > this.#options.maxTokensPerGrant) perGrant.delete(perGrant.keys().next().value!);
    return entry;
  }
}
