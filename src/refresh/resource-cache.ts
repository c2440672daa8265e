/**
 * The in-memory cache of a process's access tokens for resources (RFC 8707) and narrower scopes:
 * per grant, per (resource set, scope), bounded per grant with CLOCK (second chance, like
 * `GrantCache`) and in grants (oldest dropped first). A hit found by the caller's own spelling of the
 * resource and scope (an alias) allocates nothing, so `getAccessToken(key, { resource })` on a cached
 * token is as cheap as the grant's own hot path.
 * @module
 */
import { refreshTiming, type RefreshTiming } from '../grant/expiry.ts';
import type { TokenResult } from '../grant/token.ts';
import type { ResourceToken } from './transaction.ts';

/** A cached token for one (grant, resource set, scope). */
export interface ResourceEntry extends RefreshTiming {
  /** Resolved promise of the access token: the hot path returns it without allocating. */
  token: Promise<string>;
  /** Resolved promise of the token with its metadata (`getToken`'s hot path). */
  result: Promise<TokenResult>;
  /** Set on every hit, cleared by the eviction sweep. */
  used: boolean;
}

/** The tokens of one grant. */
interface GrantTokens {
  /** Canonical id (sorted resources, newline, sorted scope) → entry, in CLOCK order. */
  entries: Map<string, ResourceEntry>;
  /** The caller's spelling of a resource without scope (the common case: one lookup) → entry. */
  byResource: Map<string, ResourceEntry>;
  /** The caller's spelling with a scope: resource (`''`: none) → scope → entry. */
  byResourceScope: Map<string, Map<string, ResourceEntry>>;
  aliasCount: number;
}

/** Spellings remembered per grant, per cached token, before the alias index is rebuilt from scratch. */
const ALIASES_PER_TOKEN = 4;

/** @internal */
export class ResourceCache {
  readonly #grants = new Map<string, GrantTokens>();
  readonly #maxTokensPerGrant: number;
  readonly #maxGrants: number;
  readonly #refreshWindowMs: number;

  constructor(options: { maxTokensPerGrant: number; maxGrants: number; refreshWindowMs: number }) {
    this.#maxTokensPerGrant = options.maxTokensPerGrant;
    this.#maxGrants = options.maxGrants;
    this.#refreshWindowMs = options.refreshWindowMs;
  }

  /**
   * The hot path: the entry cached for exactly this spelling of `resource` (a string or a URL, not
   * an array) and `scope` (a string), if any. No allocation; the caller checks `refreshAt`.
   */
  peek(key: string, resource: unknown, scope: unknown): ResourceEntry | undefined {
    const grant = this.#grants.get(key);
    if (grant === undefined) return undefined;
    const resourceAlias = resource === undefined ? '' : typeof resource === 'string' ? resource : resource instanceof URL ? resource.href : undefined;
    // `''` as a resource or a scope is the caller's mistake: the slow path says so.
    if (resourceAlias === undefined || resource === '') return undefined;
    if (scope === undefined) return grant.byResource.get(resourceAlias);
    return typeof scope === 'string' && scope !== '' ? grant.byResourceScope.get(resourceAlias)?.get(scope) : undefined;
  }

  /** The entry of a canonical id, marked used. */
  get(key: string, id: string): ResourceEntry | undefined {
    const entry = this.#grants.get(key)?.entries.get(id);
    if (entry !== undefined) entry.used = true;
    return entry;
  }

  /** Caches a token got by a refresh; retires the entry it replaces or evicts. */
  set(key: string, id: string, token: ResourceToken, tokenType: TokenResult['tokenType'], scope: string | undefined): ResourceEntry {
    const result: TokenResult = Object.freeze({ accessToken: token.accessToken, tokenType, expiresAt: token.expiresAt, scope: token.scope ?? scope ?? '' });
    const entry: ResourceEntry = {
      ...refreshTiming(token, this.#refreshWindowMs, Math.random()),
      token: Promise.resolve(token.accessToken),
      result: Promise.resolve(result),
      used: true,
    };
    let grant = this.#grants.get(key);
    if (grant === undefined) {
      grant = { entries: new Map(), byResource: new Map(), byResourceScope: new Map(), aliasCount: 0 };
      this.#grants.set(key, grant);
      if (this.#grants.size > this.#maxGrants) this.forget(this.#grants.keys().next().value!);
    }
    const previous = grant.entries.get(id);
    if (previous !== undefined) retire(previous);
    grant.entries.set(id, entry);
    if (previous === undefined && grant.entries.size > this.#maxTokensPerGrant) evict(grant.entries);
    return entry;
  }

  /** Remembers the caller's spelling of a cached entry, for {@link ResourceCache.peek}. */
  alias(key: string, resource: unknown, scope: unknown, entry: ResourceEntry): void {
    const grant = this.#grants.get(key);
    if (grant === undefined) return;
    const resourceAlias = resource === undefined ? '' : typeof resource === 'string' ? resource : resource instanceof URL ? resource.href : undefined;
    const scopeAlias = scope === undefined ? '' : typeof scope === 'string' ? scope : undefined;
    if (resourceAlias === undefined || scopeAlias === undefined || (resourceAlias === '' && scopeAlias === '')) return;
    if (this.peek(key, resource, scope) === entry) return;
    if (grant.aliasCount >= this.#maxTokensPerGrant * ALIASES_PER_TOKEN) {
      grant.byResource.clear();
      grant.byResourceScope.clear();
      grant.aliasCount = 0;
    }
    grant.aliasCount++;
    if (scopeAlias === '') {
      grant.byResource.set(resourceAlias, entry);
      return;
    }
    let byScope = grant.byResourceScope.get(resourceAlias);
    if (byScope === undefined) {
      byScope = new Map();
      grant.byResourceScope.set(resourceAlias, byScope);
    }
    byScope.set(scopeAlias, entry);
  }

  /** Drops every token of `key` (a new consent, a revocation, a dead grant). */
  forget(key: string): void {
    const grant = this.#grants.get(key);
    if (grant === undefined) return;
    for (const entry of grant.entries.values()) retire(entry);
    this.#grants.delete(key);
  }

  clear(): void {
    for (const key of [...this.#grants.keys()]) this.forget(key);
  }
}

/** An entry no longer cached: a hit through a stale alias sees it as due and takes the slow path. */
function retire(entry: ResourceEntry): void {
  entry.refreshAt = Number.NEGATIVE_INFINITY;
  entry.usableUntil = Number.NEGATIVE_INFINITY;
}

/** CLOCK: the first entry not used since the last sweep goes; used ones get a second chance. */
function evict(entries: Map<string, ResourceEntry>): void {
  for (const [id, entry] of entries) {
    entries.delete(id);
    if (!entry.used) {
      retire(entry);
      return;
    }
    entry.used = false;
    entries.set(id, entry);
  }
}
