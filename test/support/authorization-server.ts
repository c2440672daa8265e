/**
 * A real authorization server for tests and the demo: oidc-provider on a loopback port, rotating the
 * refresh token on every use and revoking the whole grant when a used refresh token comes back.
 * It completes consent without a browser, counts token requests, records every token it issues, and
 * can inject faults at its token endpoint.
 */
import { generateKeyPairSync, randomBytes, type JsonWebKey } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { errors } from 'oidc-provider';

/** A fault applied to the next request to the token endpoint. */
export type TokenEndpointFault =
  /** Answer without reaching the provider (the request is never processed). */
  | { kind: 'respond'; status: number; headers?: Record<string, string>; body?: string }
  /** Close the connection without reaching the provider. */
  | { kind: 'drop-before' }
  /** Let the provider process the request (and rotate), then close the connection instead of answering. */
  | { kind: 'drop-after' }
  /** Let the provider process the request, then replace its answer. */
  | { kind: 'replace-response'; status: number; headers?: Record<string, string>; body: string }
  /** Wait before passing the request on. */
  | { kind: 'delay'; ms: number }
  /** Let the provider process the request (and rotate), then send its JSON answer changed by `mutate`. */
  | { kind: 'mutate-response'; mutate: (body: Record<string, unknown>) => unknown }
  /** Let the provider process the request at once, and send its answer `ms` later. */
  | { kind: 'slow-response'; ms: number }
  /** Let the provider process the request at once, then send its answer one byte every `msPerByte` (slow loris). */
  | { kind: 'trickle-response'; msPerByte: number };

export interface AuthorizationServerOptions {
  /** Access token lifetime in seconds. Default 3600. */
  accessTokenTtlS?: number;
  /** Port; default a free one. */
  port?: number;
  /** Delay added to every adapter operation, in ms (a slow provider store). */
  adapterDelayMs?: number;
  /**
   * Keep the server's state (grants, tokens, signing key) in this JSON file, so that a restarted
   * server on the same port still honours the refresh tokens it issued (the demo's second run).
   */
  statePath?: string;
  /** Offer token introspection (RFC 7662). Default true. */
  introspection?: boolean;
  /** Serve the app's redirect URI on this server (`<issuer>/app/callback`), for a person's browser. */
  serveCallback?: boolean;
  /** DPoP: require a server-issued nonce in every proof (`use_dpop_nonce` until the client sends one). Default false. */
  dpopNonce?: boolean;
}

export interface Counters {
  /** grant_type=refresh_token requests that reached the provider. */
  refreshRequests: number;
  refreshSuccesses: number;
  /** Failures by OAuth error code. */
  refreshErrors: Record<string, number>;
  codeExchanges: number;
  introspections: number;
  revocations: number;
  /** Refresh tokens presented more than once at the token endpoint (reuse seen by the server). */
  reusedRefreshTokens: number;
  /** Token endpoint answers asking for a DPoP nonce (`use_dpop_nonce`: a 400 with a `DPoP-Nonce` header). */
  tokenNonceChallenges: number;
  /** Userinfo answers asking for a DPoP nonce (a 401 with a `DPoP-Nonce` header). */
  resourceNonceChallenges: number;
}

export interface AuthorizationServer {
  issuer: string;
  clients: {
    basic: { clientId: string; clientSecret: string };
    post: { clientId: string; clientSecret: string };
    public: { clientId: string };
    /** A native public client registered for RFC 8252 loopback redirects (`http://127.0.0.1:<any port>/callback`). */
    loopback: { clientId: string; redirectUri: string };
    /** Authenticates with `private_key_jwt`: the server knows the public half of `privateJwk` (EC P-256). */
    privateKeyJwt: { clientId: string; privateJwk: JsonWebKey & { kid: string } };
  };
  redirectUri: string;
  counters: Counters;
  /** Every access token, refresh token and authorization code the server issued. */
  issuedTokens: Set<string>;
  /** Faults for the next token endpoint requests, applied first in, first out. */
  faults: TokenEndpointFault[];
  /** With `serveCallback`: resolves with the next callback a browser brings to the redirect URI. */
  nextCallback(): Promise<URL>;
  /** Follows an authorization URL through login and consent; resolves with the callback URL. */
  consent(authorizationUrl: URL | string, options?: { deny?: boolean; stopAt?: string }): Promise<URL>;
  /** Stops listening for `ms` (connections are refused), then listens again on the same port. */
  refuseConnections(ms: number): Promise<void>;
  /** Resolves once the server listens again after {@link AuthorizationServer.refuseConnections}. */
  listening(): Promise<void>;
  /** Revokes every grant at the server (as if the user disconnected the app). */
  revokeAllGrants(): Promise<void>;
  /** Whether the refresh tokens of the grant are still live at the server. */
  liveRefreshTokens(): number;
  /** What the server knows of a refresh token: still usable, used (rotated away), or unknown (revoked). */
  refreshTokenState(token: string): 'active' | 'consumed' | 'unknown';
  resetCounters(): void;
  close(): Promise<void>;
}

const ACCOUNT_ID = 'test-user';
/** Resource indicators the server knows (RFC 8707): any URI under this prefix. */
export const RESOURCE_PREFIX = 'https://api.example/';
const REDIRECT_PATH = '/callback';

/** Starts the server on loopback. */
export async function startAuthorizationServer(options: AuthorizationServerOptions = {}): Promise<AuthorizationServer> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const issuer = `http://127.0.0.1:${port}`;
  // The app's redirect URI: nothing listens there, the headless consent stops at it.
  const redirectUri = options.serveCallback ? `${issuer}/app${REDIRECT_PATH}` : `http://127.0.0.1:1${REDIRECT_PATH}`;
  const saved = options.statePath !== undefined && existsSync(options.statePath)
    ? JSON.parse(readFileSync(options.statePath, 'utf8')) as { storage: Record<string, Record<string, Record<string, unknown>>>; jwk: Record<string, unknown> }
    : undefined;
  const storage = new Map<string, Map<string, Record<string, unknown>>>(
    Object.entries(saved?.storage ?? {}).map(([model, items]) => [model, new Map(Object.entries(items))]),
  );
  const save = (): void => {
    if (options.statePath === undefined) return;
    const state = { storage: Object.fromEntries([...storage].map(([model, items]) => [model, Object.fromEntries(items)])), jwk };
    writeFileSync(options.statePath, JSON.stringify(state));
  };
  const issuedTokens = new Set<string>();
  const presented = new Map<string, number>();
  const counters = emptyCounters();
  const adapterDelayMs = options.adapterDelayMs ?? 0;

  class TestAdapter {
    readonly #model: string;
    constructor(model: string) {
      this.#model = model;
      if (!storage.has(model)) storage.set(model, new Map());
    }
    get #items(): Map<string, Record<string, unknown>> {
      return storage.get(this.#model)!;
    }
    async #delay(): Promise<void> {
      if (adapterDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, adapterDelayMs));
    }
    async upsert(id: string, payload: Record<string, unknown>): Promise<void> {
      await this.#delay();
      if (this.#model === 'AccessToken' || this.#model === 'RefreshToken' || this.#model === 'AuthorizationCode') {
        issuedTokens.add(id);
        // The suite-wide leak check (test/run.ts) searches all test output for every secret issued.
        if (process.env.OFFLINE_TOKENS_SECRETS_FILE) appendFileSync(process.env.OFFLINE_TOKENS_SECRETS_FILE, `${id}\n`);
      }
      this.#items.set(id, payload);
      save();
    }
    async find(id: string): Promise<Record<string, unknown> | undefined> {
      await this.#delay();
      return this.#items.get(id);
    }
    async findByUid(uid: string): Promise<Record<string, unknown> | undefined> {
      for (const payload of this.#items.values()) if (payload.uid === uid) return payload;
      return undefined;
    }
    async findByUserCode(): Promise<undefined> {
      return undefined;
    }
    async consume(id: string): Promise<void> {
      await this.#delay();
      const payload = this.#items.get(id);
      if (payload) payload.consumed = Math.floor(Date.now() / 1000);
      save();
    }
    async destroy(id: string): Promise<void> {
      this.#items.delete(id);
      save();
    }
    async revokeByGrantId(grantId: string): Promise<void> {
      for (const items of storage.values()) {
        for (const [id, payload] of items) if (payload.grantId === grantId) items.delete(id);
      }
      save();
    }
  }

  const jwk = saved?.jwk ?? { ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256', kid: 'test' };
  const clients = {
    basic: { clientId: 'confidential-basic', clientSecret: 'basic-secret-0123456789abcdef' },
    post: { clientId: 'confidential-post', clientSecret: 'post-secret-0123456789abcdef' },
    public: { clientId: 'public-pkce' },
    loopback: { clientId: 'cli-loopback', redirectUri: 'http://127.0.0.1/callback' },
    privateKeyJwt: { clientId: 'private-key-jwt', privateJwk: { ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }), kid: 'client-key-1' } },
  };
  // The client's private key is a secret too: the suite-wide leak check searches for it.
  if (process.env.OFFLINE_TOKENS_SECRETS_FILE) appendFileSync(process.env.OFFLINE_TOKENS_SECRETS_FILE, `${clients.privateKeyJwt.privateJwk.d}\n`);
  const { d: _d, ...clientPublicJwk } = clients.privateKeyJwt.privateJwk;
  const common = { redirect_uris: [redirectUri], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] };
  const provider = new Provider(issuer, {
    adapter: TestAdapter as never,
    clients: [
      { ...common, client_id: clients.basic.clientId, client_secret: clients.basic.clientSecret, token_endpoint_auth_method: 'client_secret_basic' },
      { ...common, client_id: clients.post.clientId, client_secret: clients.post.clientSecret, token_endpoint_auth_method: 'client_secret_post' },
      { ...common, client_id: clients.public.clientId, token_endpoint_auth_method: 'none', application_type: 'native' },
      { ...common, redirect_uris: [clients.loopback.redirectUri], client_id: clients.loopback.clientId, token_endpoint_auth_method: 'none', application_type: 'native' },
      { ...common, client_id: clients.privateKeyJwt.clientId, token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [clientPublicJwk] } },
    ],
    jwks: { keys: [jwk as never] },
    cookies: { keys: ['test-cookie-key-0123456789'] },
    findAccount: async (_ctx: unknown, id: string) => ({
      accountId: id,
      claims: async () => ({ sub: id, email: `${id}@example.com`, name: 'Test User' }),
    }),
    claims: { openid: ['sub'], email: ['email'], profile: ['name'] },
    scopes: ['openid', 'offline_access', 'email', 'profile', 'api:read'],
    features: {
      devInteractions: { enabled: false },
      revocation: { enabled: true },
      introspection: { enabled: options.introspection ?? true },
      // RFC 8707: resources under https://api.example/ get JWT access tokens with their own `aud`.
      resourceIndicators: {
        enabled: true,
        defaultResource: async (_ctx: unknown, _client: unknown, oneOf?: string[]) => oneOf,
        useGrantedResource: async () => false,
        getResourceServerInfo: async (_ctx: unknown, resource: string) => {
          if (!resource.startsWith(RESOURCE_PREFIX)) throw new errors.InvalidTarget();
          return { scope: 'api:read', audience: resource, accessTokenFormat: 'jwt', accessTokenTTL: options.accessTokenTtlS ?? 3600 };
        },
      },
      dPoP: options.dpopNonce ? { enabled: true, nonceSecret: randomBytes(32), requireNonce: () => true } : { enabled: true },
    },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    rotateRefreshToken: true,
    ttl: {
      AccessToken: options.accessTokenTtlS ?? 3600,
      RefreshToken: 14 * 24 * 3600,
      IdToken: 3600,
      Interaction: 600,
      Session: 3600,
      Grant: 14 * 24 * 3600,
      AuthorizationCode: 60,
    },
    pkce: { required: () => true },
    renderError: async (ctx: { type: string; body: string }, out: Record<string, unknown>) => {
      ctx.type = 'json';
      ctx.body = JSON.stringify(out);
    },
  } as never);
  const countPresentation = (token: string | undefined): void => {
    if (token === undefined) return;
    const seen = (presented.get(token) ?? 0) + 1;
    presented.set(token, seen);
    if (seen === 2) counters.reusedRefreshTokens++;
  };
  const events = provider as unknown as EventEmitter;
  events.on('grant.success', (ctx: { oidc: { params: { grant_type?: string; refresh_token?: string } }; body?: { access_token?: unknown } }) => {
    // JWT access tokens (for resources) never reach the adapter: recorded here for the leak check.
    const accessToken = ctx.body?.access_token;
    if (typeof accessToken === 'string' && !issuedTokens.has(accessToken)) {
      issuedTokens.add(accessToken);
      if (process.env.OFFLINE_TOKENS_SECRETS_FILE) appendFileSync(process.env.OFFLINE_TOKENS_SECRETS_FILE, `${accessToken}\n`);
    }
    const type = ctx.oidc.params.grant_type;
    if (type === 'refresh_token') {
      countPresentation(ctx.oidc.params.refresh_token);
      counters.refreshRequests++;
      counters.refreshSuccesses++;
    } else if (type === 'authorization_code') counters.codeExchanges++;
  });
  events.on('grant.error', (ctx: { oidc?: { params?: { grant_type?: string; refresh_token?: string } } }, error: { error?: string }) => {
    if (ctx.oidc?.params?.grant_type === 'refresh_token') {
      // A proof without the nonce is refused before the refresh token is looked at: not a use of it.
      if (error.error !== 'use_dpop_nonce') countPresentation(ctx.oidc.params.refresh_token);
      counters.refreshRequests++;
      const code = error.error ?? 'unknown';
      counters.refreshErrors[code] = (counters.refreshErrors[code] ?? 0) + 1;
    }
  });
  events.on('introspection.error', () => {});
  events.on('server_error', () => {});
  const providerCallback = provider.callback();
  const faults: TokenEndpointFault[] = [];
  const callbackWaiters: Array<(url: URL) => void> = [];
  let reopening = Promise.resolve();

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', issuer).pathname;
    if (options.serveCallback && path === `/app${REDIRECT_PATH}`) {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('Consent received: you can close this tab and go back to the terminal.\n');
      callbackWaiters.shift()?.(new URL(req.url ?? '/', issuer));
      return;
    }
    if (path.startsWith('/interaction/')) {
      void interact(req, res).catch((error: unknown) => {
        res.statusCode = 500;
        res.end(String(error));
      });
      return;
    }
    res.on('finish', () => {
      if (res.getHeader('dpop-nonce') === undefined) return;
      if (path === '/token' && res.statusCode === 400) counters.tokenNonceChallenges++;
      if (path === '/me' && res.statusCode === 401) counters.resourceNonceChallenges++;
    });
    if (path === '/token/introspection') counters.introspections++;
    if (path === '/token/revocation') counters.revocations++;
    const fault = req.method === 'POST' && path === '/token' ? faults.shift() : undefined;
    if (fault === undefined) {
      void providerCallback(req, res);
      return;
    }
    void applyFault(fault, req, res);
  });

  async function applyFault(fault: TokenEndpointFault, req: IncomingMessage, res: ServerResponse): Promise<void> {
    switch (fault.kind) {
      case 'respond':
        req.resume();
        res.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers });
        res.end(fault.body ?? JSON.stringify({ error: fault.status === 429 ? 'slow_down' : 'temporarily_unavailable' }));
        return;
      case 'drop-before':
        req.socket.destroy();
        return;
      case 'delay':
        await new Promise((resolve) => setTimeout(resolve, fault.ms));
        void providerCallback(req, res);
        return;
      case 'mutate-response': {
        const realEnd = res.end.bind(res);
        const realSetHeader = res.setHeader.bind(res);
        res.setHeader = ((name: string, value: unknown) => (name.toLowerCase() === 'content-length' ? res : realSetHeader(name, value as string))) as never;
        res.end = ((body: unknown) => {
          const json = JSON.parse(String(body)) as Record<string, unknown>;
          const mutated = fault.mutate(json);
          (realEnd as (chunk: string) => void)(typeof mutated === 'string' ? mutated : JSON.stringify(mutated));
          return res;
        }) as never;
        void providerCallback(req, res);
        return;
      }
      case 'slow-response': {
        const realEnd = res.end.bind(res);
        res.end = ((...args: unknown[]) => {
          setTimeout(() => (realEnd as (...a: unknown[]) => void)(...args), fault.ms);
          return res;
        }) as never;
        void providerCallback(req, res);
        return;
      }
      case 'trickle-response': {
        const realEnd = res.end.bind(res);
        res.end = ((chunk?: unknown) => {
          const body = chunk === undefined || typeof chunk === 'function' ? Buffer.alloc(0) : Buffer.from(chunk as string);
          let sent = 0;
          const timer = setInterval(() => {
            if (res.destroyed || sent >= body.length) {
              clearInterval(timer);
              if (!res.destroyed) (realEnd as () => void)();
              return;
            }
            res.write(body.subarray(sent, sent + 1));
            sent++;
          }, fault.msPerByte);
          res.on('close', () => clearInterval(timer));
          return res;
        }) as never;
        void providerCallback(req, res);
        return;
      }
      case 'drop-after':
      case 'replace-response': {
        // Let the provider do its work, then swallow its answer.
        const realWriteHead = res.writeHead.bind(res);
        const realEnd = res.end.bind(res);
        res.writeHead = (() => res) as never;
        res.setHeader = (() => res) as never;
        res.end = ((..._args: unknown[]) => {
          if (fault.kind === 'drop-after') req.socket.destroy();
          else {
            realWriteHead(fault.status, { 'content-type': 'application/json', ...fault.headers });
            realEnd(fault.body);
          }
          return res;
        }) as never;
        res.write = (() => true) as never;
        void providerCallback(req, res);
        return;
      }
    }
  }

  async function interact(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const details = await provider.interactionDetails(req, res);
    const deny = new URL(req.url ?? '/', issuer).searchParams.get('deny') === '1';
    if (deny) {
      await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'The user declined' }, { mergeWithLastSubmission: false });
      return;
    }
    if (details.prompt.name === 'login') {
      await provider.interactionFinished(req, res, { login: { accountId: ACCOUNT_ID } }, { mergeWithLastSubmission: false });
      return;
    }
    const grant = details.grantId
      ? (await provider.Grant.find(details.grantId))!
      : new provider.Grant({ accountId: details.session!.accountId, clientId: details.params.client_id as string });
    const missing = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }

  async function consent(authorizationUrl: URL | string, consentOptions: { deny?: boolean; stopAt?: string } = {}): Promise<URL> {
    const cookies = new Map<string, string>();
    let url = new URL(authorizationUrl);
    const stopAt = consentOptions.stopAt ?? redirectUri;
    for (let hop = 0; hop < 20; hop++) {
      if (url.href.startsWith(stopAt)) return url;
      if (consentOptions.deny && url.pathname.startsWith('/interaction/')) url.searchParams.set('deny', '1');
      const response = await fetch(url, {
        redirect: 'manual',
        headers: { cookie: [...cookies].map(([name, value]) => `${name}=${value}`).join('; ') },
      });
      for (const header of response.headers.getSetCookie()) {
        const [pair] = header.split(';');
        const index = pair!.indexOf('=');
        cookies.set(pair!.slice(0, index), pair!.slice(index + 1));
      }
      const location = response.headers.get('location');
      if (response.status < 300 || response.status >= 400 || location === null) {
        throw new Error(`Consent stopped at ${url.pathname} with HTTP ${response.status}: ${(await response.text()).slice(0, 300)}`);
      }
      await response.body?.cancel();
      url = new URL(location, url);
    }
    throw new Error('Too many redirects during consent');
  }

  return {
    issuer,
    clients,
    redirectUri,
    counters,
    issuedTokens,
    faults,
    consent,
    nextCallback: () => new Promise<URL>((resolve) => callbackWaiters.push(resolve)),
    async refuseConnections(ms) {
      await closeServer(server);
      reopening = new Promise((resolve) => setTimeout(() => server.listen(port, '127.0.0.1', resolve), ms));
    },
    listening: () => reopening,
    async revokeAllGrants() {
      for (const items of storage.values()) {
        for (const [id, payload] of items) if (payload.grantId !== undefined) items.delete(id);
      }
    },
    liveRefreshTokens() {
      let live = 0;
      for (const payload of storage.get('RefreshToken')?.values() ?? []) if (!payload.consumed) live++;
      return live;
    },
    refreshTokenState(token) {
      const payload = storage.get('RefreshToken')?.get(token);
      return payload === undefined ? 'unknown' : payload.consumed ? 'consumed' : 'active';
    },
    resetCounters() {
      Object.assign(counters, emptyCounters());
    },
    close: async () => {
      await reopening;
      await closeServer(server);
    },
  };
}

function emptyCounters(): Counters {
  return { refreshRequests: 0, refreshSuccesses: 0, refreshErrors: {}, codeExchanges: 0, introspections: 0, revocations: 0, reusedRefreshTokens: 0, tokenNonceChallenges: 0, resourceNonceChallenges: 0 };
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
