/**
 * The calls to the authorization server, through openid-client: the client configuration, the code
 * exchange, refresh, revocation and introspection. Every request goes through one
 * `customFetch` (see `http.ts`).
 * @module
 */
import * as client from 'openid-client';
import { withRequestSignal, type ResponseCapture } from './http.ts';
import { TokenResponseError } from '../errors.ts';
import type { TokenSet } from '../grant/grant.ts';
import type { ClientKey } from './client-key.ts';
import type { StoredDPoPKey } from '../grant/dpop-key.ts';
import { dpopHandle } from './dpop.ts';

/** Longest access token lifetime accepted: one year. Longer is treated as a malformed response. */
export const MAX_EXPIRES_IN_S = 365 * 86_400;

/** Discovered server plus the client's configuration. @internal */
export interface OAuthClient {
  readonly config: client.Configuration;
  readonly issuer: string;
  readonly supportsRevocation: boolean;
  readonly supportsIntrospection: boolean;
  readonly supportsIssParameter: boolean;
}

/** How the client authenticates and talks to the server (a subset of the manager's options). @internal */
export interface ClientPolicy {
  clientId: string;
  clientSecret: string | undefined;
  clientAuthMethod: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | 'none';
  /** The key for `private_key_jwt`. */
  clientKey: ClientKey | undefined;
  redirectUri: string;
  allowInsecureRequests: boolean;
  requestTimeoutMs: number;
}

/** Configures the client for a server's metadata. @internal */
export function createOAuthClient(metadata: client.ServerMetadata, policy: ClientPolicy, customFetch: client.CustomFetch): OAuthClient {
  const auth = policy.clientAuthMethod === 'client_secret_basic'
    ? client.ClientSecretBasic(policy.clientSecret)
    : policy.clientAuthMethod === 'client_secret_post'
      ? client.ClientSecretPost(policy.clientSecret)
      : policy.clientAuthMethod === 'private_key_jwt'
        ? client.PrivateKeyJwt(policy.clientKey!)
        : client.None();
  const config = new client.Configuration(
    metadata,
    policy.clientId,
    { redirect_uris: [policy.redirectUri], token_endpoint_auth_method: policy.clientAuthMethod },
    auth,
  );
  config[client.customFetch] = customFetch;
  config.timeout = Math.ceil(policy.requestTimeoutMs / 1000);
  if (policy.allowInsecureRequests) client.allowInsecureRequests(config);
  return {
    config,
    issuer: metadata.issuer,
    supportsRevocation: typeof metadata.revocation_endpoint === 'string',
    supportsIntrospection: typeof metadata.introspection_endpoint === 'string',
    supportsIssParameter: metadata.authorization_response_iss_parameter_supported === true,
  };
}

/** Exchanges an authorization code (with a DPoP proof signed by `dpopKey`, when given); returns the validated tokens. */
export async function exchangeCode(
  oauth: OAuthClient,
  callbackUrl: URL,
  checks: { codeVerifier: string; state: string; nonce: string | undefined },
  signal: AbortSignal | undefined,
  dpopKey?: StoredDPoPKey,
): Promise<TokenSet> {
  // With a nonce (OpenID Connect) an ID token is required and validated; without, plain OAuth 2.0.
  const response = await withRequestSignal(signal, () => client.authorizationCodeGrant(oauth.config, callbackUrl, {
    pkceCodeVerifier: checks.codeVerifier,
    expectedState: checks.state,
    ...(checks.nonce !== undefined ? { expectedNonce: checks.nonce, idTokenExpected: true } : {}),
  }, undefined, dpopKey === undefined ? undefined : { DPoP: dpopHandle(oauth.config, dpopKey) }));
  if (dpopKey !== undefined && response.token_type?.toLowerCase() !== 'dpop') {
    throw new TokenResponseError('The server issued a Bearer token although `dpop` is on: it does not support DPoP for this client');
  }
  return parseTokenResponse(response);
}

/**
 * Sends `grant_type=refresh_token` (with a DPoP proof signed by `dpopKey`, RFC 8707 `resource`
 * parameters and a narrower `scope`, when given); returns the raw response for {@link parseTokenResponse}.
 */
export function requestRefresh(
  oauth: OAuthClient,
  refreshToken: string,
  signal: AbortSignal,
  capture?: ResponseCapture,
  dpopKey?: StoredDPoPKey,
  resource?: readonly string[],
  scope?: string,
): Promise<client.TokenEndpointResponse & client.TokenEndpointResponseHelpers> {
  const options = dpopKey === undefined ? undefined : { DPoP: dpopHandle(oauth.config, dpopKey) };
  // RFC 8707: one `resource` parameter per resource; RFC 6749 §6: `scope` narrows the new access token.
  let parameters: URLSearchParams | undefined;
  if (resource !== undefined || scope !== undefined) {
    parameters = new URLSearchParams((resource ?? []).map((value) => ['resource', value]));
    if (scope !== undefined) parameters.set('scope', scope);
  }
  return withRequestSignal(signal, () => client.refreshTokenGrant(oauth.config, refreshToken, parameters, options), capture);
}

/**
 * The new refresh token in a successful (2xx) token response that was refused as malformed, if it
 * carries one.
 */
export function salvageRefreshToken(capture: ResponseCapture, previous: string): string | undefined {
  if (capture.status === undefined || capture.status < 200 || capture.status >= 300 || capture.body === undefined) return undefined;
  try {
    const json = JSON.parse(capture.body.toString('utf8')) as { refresh_token?: unknown };
    const token = json?.refresh_token;
    return typeof token === 'string' && token.length > 0 && token.length <= 4096 && token !== previous ? token : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether a token response that was refused may still have rotated the refresh token at the server:
 * no status seen, or a success (2xx) whose body could not be read as a JSON object (too large, cut
 * short, form-encoded, HTML...). A complete JSON answer without a new refresh token is not: the
 * server did not rotate (or does not rotate).
 */
export function isAmbiguousResponse(capture: ResponseCapture): boolean {
  if (capture.status === undefined) return true;
  if (capture.status < 200 || capture.status >= 300) return false;
  if (capture.body === undefined) return true;
  try {
    const json: unknown = JSON.parse(capture.body.toString('utf8'));
    return typeof json !== 'object' || json === null || Array.isArray(json);
  } catch {
    return true;
  }
}

/** RFC 7009 revocation of a refresh token. */
export async function revokeRefreshToken(oauth: OAuthClient, refreshToken: string, signal: AbortSignal | undefined): Promise<void> {
  await withRequestSignal(signal, () => client.tokenRevocation(oauth.config, refreshToken, { token_type_hint: 'refresh_token' }));
}

/** RFC 7662: whether the server still considers a refresh token active. */
export async function isRefreshTokenActive(oauth: OAuthClient, refreshToken: string, signal: AbortSignal): Promise<boolean> {
  const result = await withRequestSignal(signal, () => client.tokenIntrospection(oauth.config, refreshToken, { token_type_hint: 'refresh_token' }));
  return result.active === true;
}

/**
 * Validates a token endpoint response.
 * @throws {TokenResponseError} naming the bad field, never its value.
 */
export function parseTokenResponse(response: client.TokenEndpointResponse & Partial<client.TokenEndpointResponseHelpers>): TokenSet {
  const fail = (message: string): never => {
    throw new TokenResponseError(message);
  };
  const refreshToken = typeof response.refresh_token === 'string' && response.refresh_token.length > 0 ? response.refresh_token : undefined;
  if (response.refresh_token !== undefined && refreshToken === undefined) fail('The token response has an invalid `refresh_token`');
  if (typeof response.access_token !== 'string' || response.access_token.length === 0) fail('The token response has no `access_token`');
  const tokenType = typeof response.token_type === 'string' ? response.token_type.toLowerCase() : undefined;
  if (tokenType !== 'bearer' && tokenType !== 'dpop') fail('The token response has a `token_type` other than Bearer or DPoP');
  const expiresIn: unknown = response.expires_in;
  if (expiresIn === undefined) fail('The token response has no `expires_in`');
  if (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn) || expiresIn <= 0 || expiresIn > MAX_EXPIRES_IN_S) {
    fail('The token response has an invalid `expires_in`');
  }
  // Keycloak says `refresh_expires_in`, GitHub `refresh_token_expires_in`.
  const refreshExpiresIn: unknown = response.refresh_expires_in ?? response.refresh_token_expires_in;
  const validRefreshExpiresIn = typeof refreshExpiresIn === 'number' && Number.isFinite(refreshExpiresIn) && refreshExpiresIn > 0;
  const scope = typeof response.scope === 'string' && response.scope.length > 0 ? response.scope : undefined;
  let subject: string | undefined;
  if (typeof response.id_token === 'string' && typeof response.claims === 'function') subject = response.claims()?.sub;
  return {
    accessToken: response.access_token,
    refreshToken,
    expiresInMs: Math.round((expiresIn as number) * 1000),
    refreshExpiresInMs: validRefreshExpiresIn ? Math.round(refreshExpiresIn * 1000) : undefined,
    scope,
    subject,
  };
}
