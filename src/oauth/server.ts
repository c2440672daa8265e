/**
 * The connection to the authorization server, made on first need: no request at creation, so a
 * process whose grants hold valid access tokens serves them with the server down. Discovered metadata
 * is cached in the store for a day (stale metadata is used while a fresh copy is fetched in the
 * background), and what the server has shown about itself (whether it introspects refresh tokens) is
 * remembered there too, for every process sharing the store.
 * @module
 */
import type * as client from 'openid-client';
import { ClosedError, ConfigurationError } from '../errors.ts';
import { raceSignal } from '../util/abort.ts';
import type { ClientPolicy, OAuthClient } from './client.ts';
import type { DiscoveryPolicy, ServerMetadata } from './discovery.ts';
import type { Fetch } from './http.ts';

/**
 * The modules that talk to the server (openid-client and what wraps it), imported on the first
 * connect: a process that only serves stored, valid tokens never loads them (cold start).
 */
interface OAuthModules {
  createOAuthClient: typeof import('./client.ts').createOAuthClient;
  fetchMetadata: typeof import('./discovery.ts').fetchMetadata;
  customFetch: client.CustomFetch;
}

/** How long fetched metadata is used before it is fetched again (in the background). */
export const METADATA_TTL_MS = 86_400_000;

/** What the store remembers about the server. */
export interface ServerState {
  /** Fetched metadata (without the `metadata` option laid over it), when discovery is used. */
  discovered?: {
    /** Where it came from (discovery mode and URL): a change of configuration ignores it. */
    source: string;
    metadata: ServerMetadata;
    /** Epoch ms of the fetch. */
    fetchedAt: number;
  };
  /**
   * Whether introspection knows refresh tokens: it answered `active: true` (or `false`) for one known
   * to be live. A fact about the server, shared by every configuration that reaches it.
   */
  introspectsRefreshTokens?: boolean;
}

/** Where the server state is kept (the grant store). @internal */
export interface ServerStateStore {
  readServerState(signal?: AbortSignal): Promise<unknown>;
  writeServerState(state: ServerState, signal?: AbortSignal): Promise<void>;
}

/** Settings of the connection (a subset of the manager's options). @internal */
export interface ServerPolicy extends ClientPolicy, Omit<DiscoveryPolicy, 'discovery'> {
  discovery: 'oidc' | 'oauth2' | false;
  metadata: Record<string, unknown>;
  introspection: 'auto' | 'off';
  /** The issuer identifier exactly as configured: the metadata's `issuer` without discovery. */
  issuerId: string;
  fetch: Fetch;
  maxResponseBytes: number;
}

/** The lazily made connection to the server. @internal */
export class ServerConnection {
  readonly #policy: ServerPolicy;
  readonly #store: ServerStateStore;
  readonly #source: string;
  #modules: Promise<OAuthModules> | undefined;
  #client: Promise<OAuthClient> | undefined;
  #state: ServerState | undefined;
  #refreshing = false;
  /** Ends a connect or a background refresh nobody waits for any more. */
  readonly #closing = new AbortController();

  constructor(policy: ServerPolicy, store: ServerStateStore) {
    this.#policy = policy;
    this.#store = store;
    this.#source = policy.discovery === false ? 'none' : `${policy.discovery} ${policy.discoveryUrl?.href ?? policy.issuer.href}`;
  }

  /** openid-client and its wrappers, loaded once, on the first connect. */
  #load(): Promise<OAuthModules> {
    const policy = this.#policy;
    return this.#modules ??= Promise.all([import('./client.ts'), import('./discovery.ts'), import('./http.ts')]).then(([clientModule, discovery, http]) => ({
      createOAuthClient: clientModule.createOAuthClient,
      fetchMetadata: discovery.fetchMetadata,
      customFetch: http.createCustomFetch({ fetch: policy.fetch, maxResponseBytes: policy.maxResponseBytes, requestTimeoutMs: policy.requestTimeoutMs }),
    }));
  }

  /**
   * The configured client, connecting on first use. A failure is not remembered: the next call tries
   * again.
   * @throws {ServerUnavailableError} when the metadata cannot be fetched (and none is cached).
   */
  client(signal: AbortSignal): Promise<OAuthClient> {
    // Shared by every caller: one caller giving up does not abort it for the others.
    this.#client ??= this.#connect(this.#closing.signal).catch((error: unknown) => {
      this.#client = undefined;
      throw error;
    });
    return raceSignal(this.#client, signal);
  }

  /** Stops a connect or metadata refresh in flight. */
  close(): void {
    this.#closing.abort(new ClosedError());
  }

  /**
   * Whether to ask introspection after an ambiguous failure: the server has an introspection endpoint,
   * `introspection` is `'auto'`, and it has shown that it knows refresh tokens.
   */
  async trustsIntrospection(oauth: OAuthClient, signal: AbortSignal): Promise<boolean> {
    if (this.#policy.introspection !== 'auto' || !oauth.supportsIntrospection) return false;
    // Unknown here: another process may have learnt it since this one connected (an ambiguous failure is rare).
    if (this.#state?.introspectsRefreshTokens === undefined) {
      const stored = parseState(await this.#store.readServerState(signal).catch(() => undefined));
      if (stored.introspectsRefreshTokens !== undefined) this.#state = { ...this.#state, introspectsRefreshTokens: stored.introspectsRefreshTokens };
    }
    return this.#state?.introspectsRefreshTokens === true;
  }

  /** Whether it is still unknown if introspection knows refresh tokens (worth a check after a consent). */
  shouldProbeIntrospection(oauth: OAuthClient): boolean {
    return this.#policy.introspection === 'auto' && oauth.supportsIntrospection && this.#state?.introspectsRefreshTokens === undefined;
  }

  /** Remembers what introspection answered for a refresh token known to be live, here and in the store. */
  async recordIntrospection(knowsRefreshTokens: boolean, signal?: AbortSignal): Promise<void> {
    this.#state = { ...this.#state, introspectsRefreshTokens: knowsRefreshTokens };
    await this.#store.writeServerState(this.#state, signal);
  }

  async #connect(signal: AbortSignal): Promise<OAuthClient> {
    const modules = await this.#load();
    this.#state = parseState(await this.#store.readServerState(signal).catch(() => undefined));
    if (this.#policy.discovery === false) {
      const { issuer } = this.#policy.metadata;
      return this.#build(modules, { issuer: typeof issuer === 'string' ? issuer : this.#policy.issuerId });
    }
    const { discovered } = this.#state;
    if (discovered?.source === this.#source) {
      if (this.#policy.now() - discovered.fetchedAt >= METADATA_TTL_MS) this.#refreshInBackground(modules);
      return this.#build(modules, discovered.metadata);
    }
    return this.#build(modules, await this.#fetch(modules, signal));
  }

  async #fetch(modules: OAuthModules, signal: AbortSignal): Promise<ServerMetadata> {
    const metadata = await modules.fetchMetadata({ ...this.#policy, discovery: this.#policy.discovery as 'oidc' | 'oauth2' }, modules.customFetch, signal);
    this.#state = { ...this.#state, discovered: { source: this.#source, metadata, fetchedAt: this.#policy.now() } };
    // Best effort: a store that refuses the cache costs a fetch per process, nothing else.
    await this.#store.writeServerState(this.#state, signal).catch(() => {});
    return metadata;
  }

  #refreshInBackground(modules: OAuthModules): void {
    if (this.#refreshing) return;
    this.#refreshing = true;
    this.#fetch(modules, this.#closing.signal)
      .then((metadata) => {
        this.#client = Promise.resolve(this.#build(modules, metadata));
      }, () => {})
      .finally(() => {
        this.#refreshing = false;
      });
  }

  #build(modules: OAuthModules, fetched: ServerMetadata): OAuthClient {
    // The issuer is never overlaid: it is what the fetched document (or the configuration) says.
    const metadata: ServerMetadata = { ...fetched, ...this.#policy.metadata, issuer: fetched.issuer };
    if (typeof metadata.token_endpoint !== 'string') throw new ConfigurationError('The server has no `token_endpoint`: set `metadata.token_endpoint`');
    return modules.createOAuthClient(metadata as client.ServerMetadata, this.#policy, modules.customFetch);
  }
}

function parseState(value: unknown): ServerState {
  if (typeof value !== 'object' || value === null) return {};
  const state = value as { discovered?: Partial<NonNullable<ServerState['discovered']>>; introspectsRefreshTokens?: unknown };
  const discovered = state.discovered;
  const valid = typeof discovered === 'object' && discovered !== null && typeof discovered.source === 'string'
    && typeof discovered.fetchedAt === 'number' && typeof discovered.metadata?.issuer === 'string';
  return {
    ...(valid ? { discovered: discovered as NonNullable<ServerState['discovered']> } : {}),
    ...(typeof state.introspectsRefreshTokens === 'boolean' ? { introspectsRefreshTokens: state.introspectsRefreshTokens } : {}),
  };
}
