/**
 * The consent flow: the authorization URL (PKCE S256, state, nonce, `prompt=consent`) with its pending
 * transaction kept in the store, and the callback that turns a code into a stored grant.
 * @module
 */
import * as client from 'openid-client';
import { parseCallback } from './callback.ts';
import { CallbackError, TokenManagerError, TokenResponseError } from '../errors.ts';
import { createGrant, type Grant } from '../grant/grant.ts';
import { createDPoPKey, type DPoPPolicy } from '../grant/dpop-key.ts';
import { normalizeResource } from '../grant/resource.ts';
import { exchangeCode, isRefreshTokenActive, type OAuthClient } from '../oauth/client.ts';
import type { ServerConnection } from '../oauth/server.ts';
import { anySignal } from '../util/abort.ts';
import type { GrantLock } from '../locks/lock.ts';
import type { GrantStore } from '../storage/grant-store.ts';
import { withRequiredScopes } from './scope.ts';
import { observeAuthorization, type ConsentObserver } from './observer.ts';
import type { AuthorizationRequest, StartAuthorizationOptions } from './options.ts';

export type { StartAuthorizationOptions, CompleteAuthorizationOptions, AuthorizationRequest } from './options.ts';

/** The settings the consent flow follows (a subset of the manager's options). @internal */
export interface ConsentPolicy {
  /** The configured issuer: grants and pending consents are recorded under it (the owner check). */
  issuerId: string;
  clientId: string;
  redirectUri: string;
  scope: string;
  /** OpenID Connect: `openid` scope, `nonce`, ID token required. */
  openid: boolean;
  offlineAccess: 'scope' | 'access_type' | 'none';
  prompt: string | false;
  authorizationParams: Record<string, string>;
  pendingAuthorizationTtlMs: number;
  refreshTokenLifetimeMs: number;
  /** DPoP: each new grant gets its own key pair, made here and used for the code exchange. */
  dpop?: DPoPPolicy | undefined;
  now: () => number;
}

/** What the consent flow needs. @internal */
export interface AuthorizationContext {
  server: ServerConnection;
  store: GrantStore;
  /** The grant is written under its lock, so it never interleaves with a refresh of the grant it replaces. */
  lock: GrantLock;
  options: ConsentPolicy;
  /** Told when each callback completes (traces). */
  observer?: ConsentObserver | undefined;
}

/** Builds the consent URL and stores the pending transaction under its state. */
export async function startAuthorization(ctx: AuthorizationContext, request: StartAuthorizationOptions, signal: AbortSignal): Promise<AuthorizationRequest> {
  const { options } = ctx;
  const oauth = await ctx.server.client(signal);
  const codeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = options.openid ? client.randomNonce() : undefined;
  const scope = request.scope === undefined
    ? options.scope
    : withRequiredScopes(request.scope, { openid: options.openid, offlineAccess: options.offlineAccess === 'scope' });
  const parameters = new URLSearchParams({
    ...options.authorizationParams,
    ...request.params,
    ...(options.offlineAccess === 'access_type' ? { access_type: 'offline' } : {}),
    ...(options.prompt !== false ? { prompt: options.prompt } : {}),
    redirect_uri: options.redirectUri,
    response_type: 'code',
    scope,
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
    ...(nonce !== undefined ? { nonce } : {}),
  });
  for (const resource of request.resource === undefined ? [] : normalizeResource(request.resource)) parameters.append('resource', resource);
  const url = client.buildAuthorizationUrl(oauth.config, parameters);
  const ttlMs = options.pendingAuthorizationTtlMs;
  await ctx.store.putPending(state, {
    key: request.key,
    issuer: options.issuerId,
    clientId: options.clientId,
    codeVerifier,
    nonce,
    redirectUri: options.redirectUri,
    scope,
    expiresAt: options.now() + ttlMs,
  }, ttlMs, signal);
  return { url, state };
}

/**
 * Validates the callback (its URL against the redirect URI, its state against the browser's, the
 * pending consent's key against the session's), exchanges the code, and persists the new grant.
 */
export function completeAuthorization(
  ctx: AuthorizationContext,
  callbackUrl: string | URL,
  binding: { state?: string | undefined; key?: string | undefined },
  signal?: AbortSignal,
): Promise<Grant> {
  return observeAuthorization(ctx.observer, () => exchangeCallback(ctx, callbackUrl, binding, signal));
}

async function exchangeCallback(
  ctx: AuthorizationContext,
  callbackUrl: string | URL,
  binding: { state?: string | undefined; key?: string | undefined },
  signal: AbortSignal | undefined,
): Promise<Grant> {
  const { options } = ctx;
  const params = parseCallback(callbackUrl);
  if (!sameEndpoint(params.url, options.redirectUri)) {
    throw new CallbackError('redirect_mismatch', 'The callback URL does not match the configured `redirectUri`');
  }
  if (params.state === undefined) throw new CallbackError('missing_state', 'The callback has no `state`');
  // Login CSRF: a callback started by someone else's browser carries someone else's state.
  if (binding.state !== undefined && params.state !== binding.state) {
    throw new CallbackError('state_mismatch', 'The callback `state` is not the one this browser started the consent with');
  }
  // Before the state is taken: a server that cannot be reached leaves the consent to be completed later.
  const oauth = await ctx.server.client(signal ?? new AbortController().signal);
  // The state is consumed even when the callback carries an error, so it can never be replayed.
  // Under a lock: a store whose `delete` cannot tell two concurrent takers apart must not hand one
  // state to both.
  const state = params.state;
  const pending = await ctx.lock.withLock(`pending:${state}`, (lease) => ctx.store.takePending(state, lease.signal), { signal });
  if (pending === undefined || pending.expiresAt <= options.now()) {
    throw new CallbackError('unknown_state', 'The callback `state` is unknown, expired or already used');
  }
  if (binding.key !== undefined && pending.key !== binding.key) {
    throw new CallbackError('key_mismatch', 'The consent was started for another key than the logged-in user\'s');
  }
  if (params.error !== undefined) {
    const reason = params.error === 'access_denied' ? 'access_denied' : 'authorization_error';
    throw new CallbackError(reason, `The authorization server returned \`error=${sanitize(params.error)}\``, { error: params.error });
  }
  if (params.iss !== undefined ? params.iss !== oauth.issuer : oauth.supportsIssParameter) {
    throw new CallbackError('issuer_mismatch', 'The callback `iss` does not match the issuer (RFC 9207)');
  }
  if (params.code === undefined) throw new CallbackError('missing_code', 'The callback has no `code`');

  // The token request's redirect_uri is the registered one, whatever host the callback reached us on.
  const exchangeUrl = new URL(pending.redirectUri);
  exchangeUrl.search = params.search.toString();
  const dpopKey = options.dpop === undefined ? undefined : createDPoPKey(options.dpop);
  let tokens;
  try {
    tokens = await exchangeCode(oauth, exchangeUrl, { codeVerifier: pending.codeVerifier, state: params.state, nonce: pending.nonce }, signal, dpopKey);
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    if (error instanceof TokenManagerError) throw error;
    throw new CallbackError('exchange_failed', 'The authorization code could not be exchanged', { cause: error });
  }
  if (tokens.refreshToken === undefined) {
    throw new TokenResponseError('The server issued no refresh token: offline access was not granted to this client (check the `offlineAccess` and `prompt` options)');
  }
  const receivedAt = options.now();
  const grant = createGrant({ ...tokens, refreshToken: tokens.refreshToken }, {
    key: pending.key,
    issuer: options.issuerId,
    clientId: options.clientId,
    requestedScope: pending.scope,
    refreshTokenLifetimeMs: options.refreshTokenLifetimeMs,
    dpopKey,
  }, receivedAt);
  await ctx.lock.withLock(grant.key, async (lease) => {
    await ctx.store.setGrant(grant, lease.signal);
  }, { signal });
  if (ctx.server.shouldProbeIntrospection(oauth)) await probeIntrospection(ctx.server, oauth, grant.refreshToken, signal);
  return grant;
}

/**
 * Asks introspection about a refresh token known to be live (just issued): `active: true` shows that
 * the server introspects refresh tokens, so it can be trusted after an ambiguous failure; `false`
 * shows that it cannot (RFC 7662 allows answering `active: false` for tokens it does not know).
 * Best effort: no answer leaves the question open.
 */
async function probeIntrospection(server: ServerConnection, oauth: OAuthClient, refreshToken: string, signal: AbortSignal | undefined): Promise<void> {
  try {
    const active = await isRefreshTokenActive(oauth, refreshToken, anySignal(signal, AbortSignal.timeout(oauth.config.timeout! * 1000))!);
    await server.recordIntrospection(active, signal);
  } catch {
    // Unknown until the next consent: introspection is not trusted meanwhile.
  }
}

/** Same origin and path (the query and fragment aside). */
function sameEndpoint(url: URL, redirectUri: string): boolean {
  const expected = new URL(redirectUri);
  return url.origin === expected.origin && url.pathname === expected.pathname;
}

/** Keeps an error code printable and short: it comes from the URL. */
function sanitize(value: string): string {
  return value.replace(/[^\w.-]/g, '?').slice(0, 64);
}
