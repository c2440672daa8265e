/**
 * The HTTP server every fake runs: authorization endpoint (with a headless consent), token endpoint
 * (authorization_code and refresh_token grants, with faults), revocation, introspection, a protected
 * resource and JWKS. A provider file supplies a `Profile` (./profile.ts): its paths, policies and wire formats.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  authenticateClient, bearerToken, generateSigningKey, isValidVerifier, readParams, redirect, s256, sendJson, signJwt,
  type SigningKey,
} from './protocol.ts';
import type { Profile, TokenErrorKind } from './profile.ts';
import { recordSecret, TokenBook, type Grant } from './token-book.ts';
import type { ConsentOptions, FakeCounters, FakeEndpoints, FakeProvider, FakeProviderOptions, FakeTokenEndpointFault } from './types.ts';

const REDIRECT_URI = 'http://127.0.0.1:1/callback';
const CODE_TTL_S = 600;

export function emptyCounters(): FakeCounters {
  return { refreshRequests: 0, refreshSuccesses: 0, refreshErrors: {}, codeExchanges: 0, introspections: 0, revocations: 0, reusedRefreshTokens: 0, graceReuses: 0, requests: {}, clientAuthMethods: {} };
}

/**
 * Starts a fake on a free loopback port; `makeProfile` receives the issuer. `issuerPath` (default none) puts the
 * issuer under a path (Keycloak's `/realms/<realm>`, Auth0's trailing `/`): the profile's paths are then relative
 * to the issuer without its trailing slash.
 */
export async function startFake(options: FakeProviderOptions, makeProfile: (issuer: string) => Profile, issuerPath = ''): Promise<FakeProvider> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const issuer = `${origin}${issuerPath}`;
  const base = issuer.replace(/\/$/, '');
  const basePath = new URL(base).pathname.replace(/\/$/, '');
  const profile = makeProfile(issuer);
  const book = new TokenBook(options.now ?? Date.now);
  const ttlS = options.accessTokenTtlS ?? profile.defaultAccessTokenTtlS;
  const client = { clientId: `${profile.name}-client`, clientSecret: `${profile.name}-secret-${Math.random().toString(36).slice(2)}0123456789` };
  recordSecret(book.issuedTokens, client.clientSecret);
  const counters = emptyCounters();
  const faults: FakeTokenEndpointFault[] = [];
  const consented = new Set<string>(profile.authorization.initiallyConsented ? [client.clientId] : []);
  const key: SigningKey | undefined = profile.idToken ? generateSigningKey(`${profile.name}-key-1`) : undefined;
  const bump = (record: Record<string, number>, name: string): void => void (record[name] = (record[name] ?? 0) + 1);

  function authorize(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): void {
    const rules = profile.authorization;
    if (query.get('client_id') !== client.clientId) return sendJson(res, 400, { error: 'invalid_client', error_description: 'Unknown client_id' });
    const redirectUri = query.get('redirect_uri');
    if ((redirectUri ?? (rules.requireRedirectUri ? '' : REDIRECT_URI)) !== REDIRECT_URI) {
      return sendJson(res, 400, { error: 'redirect_uri_mismatch', error_description: 'The redirect_uri is not registered' });
    }
    const state = query.get('state') ?? undefined;
    const iss = rules.sendIss ? issuer : undefined;
    const refuse = (error: string, description: string): void => redirect(res, REDIRECT_URI, { error, error_description: description, state, iss });
    if (rules.requireResponseType && query.get('response_type') !== 'code') return refuse('unsupported_response_type', 'Only response_type=code');
    const challenge = query.get('code_challenge') ?? undefined;
    const method = query.get('code_challenge_method') ?? (challenge === undefined ? undefined : 'plain');
    if (challenge === undefined && rules.requirePkce) return refuse('invalid_request', 'code_challenge is required');
    if (challenge !== undefined && method !== 'S256') return refuse('invalid_request', 'Only code_challenge_method=S256');
    const refused = rules.check(query);
    if (refused !== undefined) return refuse(refused.error, refused.description);
    if (req.headers['x-fake-consent'] === 'deny') return refuse('access_denied', 'The user declined');
    const firstConsent = !consented.has(client.clientId);
    consented.add(client.clientId);
    const grant = book.newGrant(client.clientId, query.get('scope') ?? '');
    const code = book.mint(profile.prefixes.code);
    book.codes.set(code, {
      grantId: grant.id, clientId: client.clientId, redirectUri: REDIRECT_URI, redirectUriSent: redirectUri !== null,
      codeChallenge: challenge, nonce: query.get('nonce') ?? undefined,
      issueRefreshToken: rules.issueRefreshToken(query, firstConsent), used: false, expiresAtMs: book.now() + CODE_TTL_S * 1000,
    });
    redirect(res, REDIRECT_URI, { code, state, iss });
  }

  function idToken(grant: Grant, nonce: string | undefined): string | undefined {
    if (key === undefined || !grant.scope.split(' ').includes('openid')) return undefined;
    const iat = Math.floor(book.now() / 1000);
    const token = signJwt(key, { iss: issuer, sub: 'fake-user-1', aud: client.clientId, azp: client.clientId, iat, exp: iat + 3600, nonce, email: 'fake-user@example.com', email_verified: true });
    recordSecret(book.issuedTokens, token);
    return token;
  }

  async function token(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> {
    const params = await readParams(req);
    if (profile.token.acceptQueryParams) for (const [name, value] of query) if (!params.has(name)) params.set(name, value);
    const grantType = params.get('grant_type') ?? (profile.token.grantTypeOptional && params.has('code') ? 'authorization_code' : null);
    if (grantType === 'refresh_token') counters.refreshRequests++;
    const fail = (kind: TokenErrorKind): void => {
      const answer = profile.token.error(kind);
      if (grantType === 'refresh_token') bump(counters.refreshErrors, answer.body.error!);
      if (answer.headers) for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value);
      profile.token.send(req, res, answer.status, answer.body);
    };
    const auth = authenticateClient(req, params, client);
    if (!auth.ok) return fail(auth.reason);
    bump(counters.clientAuthMethods, auth.method);
    if (grantType === 'authorization_code') return exchangeCode(req, res, params, fail);
    if (grantType === 'refresh_token') return refresh(req, res, params, fail);
    return fail('unsupported_grant_type');
  }

  function answer(req: IncomingMessage, res: ServerResponse, grant: Grant, refreshToken: string | undefined, nonce?: string): void {
    const body: Record<string, string | number> = {
      access_token: book.issueAccessToken(profile.prefixes.access, grant.id, ttlS),
      token_type: profile.tokenType,
      expires_in: ttlS,
      scope: profile.token.scope(grant),
    };
    if (refreshToken !== undefined) Object.assign(body, { refresh_token: refreshToken }, profile.token.extras());
    const id = idToken(grant, nonce);
    if (id !== undefined) body.id_token = id;
    profile.token.send(req, res, 200, body);
  }

  function exchangeCode(req: IncomingMessage, res: ServerResponse, params: URLSearchParams, fail: (kind: TokenErrorKind) => void): void {
    const record = book.codes.get(params.get('code') ?? '');
    if (record === undefined || record.used || record.clientId !== client.clientId || book.now() >= record.expiresAtMs) return fail('bad_code');
    record.used = true; // single use, whatever happens next
    const redirectUri = params.get('redirect_uri');
    if ((redirectUri === null && record.redirectUriSent) || (redirectUri !== null && redirectUri !== record.redirectUri)) return fail('redirect_uri_mismatch');
    const verifier = params.get('code_verifier');
    if (record.codeChallenge === undefined ? verifier !== null : verifier === null || !isValidVerifier(verifier) || s256(verifier) !== record.codeChallenge) {
      return fail('bad_code');
    }
    const grant = book.grants.get(record.grantId)!;
    counters.codeExchanges++;
    const refreshToken = record.issueRefreshToken ? book.issueRefreshToken(profile.prefixes.refresh, grant.id, profile.refresh.ttlS) : undefined;
    answer(req, res, grant, refreshToken, record.nonce);
  }

  /** A rotated refresh token the provider still accepts (its reuse interval has not run out). */
  function withinReuseInterval(token: string): boolean {
    const record = book.refreshRecord(token);
    return record?.consumedAtMs !== undefined && book.now() < record.consumedAtMs + (profile.refresh.reuseIntervalMs ?? 0);
  }

  function refresh(req: IncomingMessage, res: ServerResponse, params: URLSearchParams, fail: (kind: TokenErrorKind) => void): void {
    const presented = params.get('refresh_token') ?? '';
    const record = book.refreshRecord(presented);
    if (record === undefined || record.grant.clientId !== client.clientId) return fail('bad_refresh_token');
    let state = book.refreshTokenState(presented);
    // A rotated token presented within the provider's reuse interval (grace period) is accepted, not a reuse.
    if (state === 'consumed' && withinReuseInterval(presented)) {
      counters.graceReuses++;
      state = 'active';
    } else if (state === 'consumed') {
      counters.reusedRefreshTokens++;
      if (profile.refresh.revokeGrantOnReuse) book.revokeGrant(record.grant.id);
    }
    if (state !== 'active') return fail('bad_refresh_token');
    let next: string | undefined;
    if (profile.refresh.rotate) {
      if (!record.consumed) record.consumedAtMs = book.now();
      record.consumed = true;
      if (profile.refresh.revokeAccessTokensOnRotate) book.revokeAccessTokens(record.grant.id);
      next = book.issueRefreshToken(profile.prefixes.refresh, record.grant.id, profile.refresh.ttlS);
    }
    counters.refreshSuccesses++;
    answer(req, res, record.grant, next);
  }

  async function revoke(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> {
    const rules = profile.revocation!;
    const params = await readParams(req);
    for (const [name, value] of query) if (!params.has(name)) params.set(name, value);
    counters.revocations++;
    if (rules.requireClientAuth) {
      const auth = authenticateClient(req, params, client);
      if (!auth.ok) return sendJson(res, 401, { error: 'invalid_client' }, { 'www-authenticate': 'Basic realm="token"' });
      bump(counters.clientAuthMethods, auth.method);
    }
    const presented = params.get('token');
    if (presented === null) return sendJson(res, 400, { error: 'invalid_request', error_description: 'token is required' });
    const grant = book.grantOf(presented);
    if (grant === undefined && rules.unknownToken !== undefined) return sendJson(res, rules.unknownToken.status, rules.unknownToken.body);
    if (grant !== undefined) {
      if (rules.anyTokenRevokesGrant || book.refreshRecord(presented) !== undefined) book.revokeGrant(grant.id);
      else book.revokeAccessToken(presented);
    }
    res.writeHead(200, { 'cache-control': 'no-store' });
    res.end();
  }

  async function introspect(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const params = await readParams(req);
    counters.introspections++;
    const auth = authenticateClient(req, params, client);
    if (!auth.ok) return sendJson(res, 401, { error: 'invalid_client' }, { 'www-authenticate': 'Basic realm="introspection"' });
    bump(counters.clientAuthMethods, auth.method);
    const presented = params.get('token') ?? '';
    const live = book.liveAccessToken(presented);
    const common = { iss: issuer, client_id: client.clientId, sub: 'fake-user-1' };
    if (live !== undefined) {
      return sendJson(res, 200, { active: true, ...common, scope: live.grant.scope, token_type: 'Bearer', iat: Math.floor(live.issuedAtMs / 1000), exp: Math.floor(live.expiresAtMs / 1000) });
    }
    const refreshState = book.refreshTokenState(presented);
    if (profile.introspection!.refreshTokens && (refreshState === 'active' || (refreshState === 'consumed' && withinReuseInterval(presented)))) {
      return sendJson(res, 200, { active: true, ...common, scope: book.grantOf(presented)!.scope, token_type: 'refresh_token' });
    }
    sendJson(res, 200, { active: false });
  }

  function userinfo(req: IncomingMessage, res: ServerResponse): void {
    const rules = profile.userinfo!;
    const presented = bearerToken(req, rules.schemes);
    const live = presented === undefined ? undefined : book.liveAccessToken(presented);
    if (live === undefined) return sendJson(res, rules.unauthorized.status, rules.unauthorized.body, rules.unauthorized.headers);
    sendJson(res, 200, rules.body(live.grant));
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', origin);
    const path = basePath !== '' && url.pathname.startsWith(`${basePath}/`) ? url.pathname.slice(basePath.length) : url.pathname;
    const { paths } = profile;
    bump(counters.requests, path);
    const route = profile.routes[path];
    if (route !== undefined) return route(req, res);
    if (req.method === 'GET' && path === paths.authorization) return authorize(req, res, url.searchParams);
    if (req.method === 'POST' && path === paths.token) {
      const fault = faults.shift();
      if (fault?.kind === 'drop-before') return void req.socket.destroy();
      if (fault?.kind === 'respond') {
        req.resume();
        res.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers });
        return void res.end(fault.body ?? JSON.stringify({ error: fault.status === 429 ? 'slow_down' : 'temporarily_unavailable' }));
      }
      if (fault?.kind === 'drop-after') {
        res.writeHead = (() => res) as never;
        res.setHeader = (() => res) as never;
        res.end = (() => (req.socket.destroy(), res)) as never;
      }
      return token(req, res, url.searchParams);
    }
    if (req.method === 'POST' && path === paths.revocation && profile.revocation) return revoke(req, res, url.searchParams);
    if (req.method === 'POST' && path === paths.introspection && profile.introspection) return introspect(req, res);
    if (req.method === 'GET' && path === paths.userinfo && profile.userinfo) return userinfo(req, res);
    if (req.method === 'GET' && path === paths.jwks && key !== undefined) return sendJson(res, 200, { keys: [key.publicJwk] });
    sendJson(res, 404, { error: 'not_found' });
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch(() => {
      if (res.headersSent) res.destroy();
      else sendJson(res, 400, { error: 'invalid_request', error_description: 'Malformed request' });
    });
  });

  async function consent(authorizationUrl: URL | string, consentOptions: ConsentOptions = {}): Promise<URL> {
    const url = new URL(authorizationUrl);
    const response = await fetch(url, { redirect: 'manual', headers: consentOptions.deny ? { 'x-fake-consent': 'deny' } : {} });
    const location = response.headers.get('location');
    if (response.status < 300 || response.status >= 400 || location === null || !location.startsWith(REDIRECT_URI)) {
      throw new Error(`Consent stopped at ${url.pathname} with HTTP ${response.status}: ${(await response.text()).slice(0, 300)}`);
    }
    await response.body?.cancel();
    return new URL(location);
  }

  const absolute = (path: string | undefined): string | undefined => (path === undefined ? undefined : `${base}${path}`);
  const endpoints: FakeEndpoints = {
    authorization: absolute(profile.paths.authorization)!,
    token: absolute(profile.paths.token)!,
    revocation: profile.revocation ? absolute(profile.paths.revocation) : undefined,
    introspection: profile.introspection ? absolute(profile.paths.introspection) : undefined,
    userinfo: profile.userinfo ? absolute(profile.paths.userinfo) : undefined,
    jwks: key ? absolute(profile.paths.jwks) : undefined,
    metadata: absolute(profile.paths.metadata),
  };
  return {
    issuer,
    endpoints,
    client,
    redirectUri: REDIRECT_URI,
    counters,
    issuedTokens: book.issuedTokens,
    faults,
    consent,
    refreshTokenState: (value) => book.refreshTokenState(value),
    accessTokenState: (value) => book.accessTokenState(value),
    revokeAllGrants: () => book.revokeAllGrants(),
    resetCounters: () => void Object.assign(counters, emptyCounters()),
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
