/**
 * A real authorization server and token managers holding a consented grant, for the sections.
 * @module
 */
import { OAuth2Client } from 'google-auth-library';
import Keyv from 'keyv';
import { createTokenManager, type GrantInfo, type TokenManager } from 'offline-tokens';
import { GrantStore } from '../src/store.ts';
import { startAuthorizationServer, type AuthorizationServer, type AuthorizationServerOptions } from '../test/support/authorization-server.ts';

export type { AuthorizationServer };

/** A clock the bench moves by hand. */
export interface Clock {
  nowMs: number;
}

/** Starts the test authorization server (oidc-provider with refresh token rotation) on loopback. */
export function startIdp(options: AuthorizationServerOptions = {}): Promise<AuthorizationServer> {
  return startAuthorizationServer(options);
}

/** Options of {@link createManager}. */
export interface ManagerOptions {
  /** Default: a fresh in-memory Keyv. */
  store?: Keyv;
  /** Default: `Date.now`. */
  now?: () => number;
  /** Default: `globalThis.fetch`. */
  fetch?: (url: string, init: RequestInit) => Promise<Response>;
  /** Default: the SDK's (10,000). */
  maxCachedGrants?: number;
}

/** A token manager for the server's confidential client. */
export function createManager(idp: AuthorizationServer, options: ManagerOptions = {}): Promise<TokenManager> {
  return createTokenManager({
    issuer: idp.issuer,
    clientId: idp.clients.post.clientId,
    clientSecret: idp.clients.post.clientSecret,
    redirectUri: idp.redirectUri,
    allowInsecureRequests: true,
    store: options.store ?? new Keyv(),
    ...(options.now === undefined ? {} : { now: options.now }),
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    ...(options.maxCachedGrants === undefined ? {} : { maxCachedGrants: options.maxCachedGrants }),
  });
}

/** Runs a full headless consent for `key`; the manager then holds the grant in its cache and store. */
export async function consentGrant(tokens: TokenManager, idp: AuthorizationServer, key: string): Promise<GrantInfo> {
  const { url } = await tokens.startAuthorization({ key });
  const callback = await idp.consent(url);
  return tokens.completeAuthorization(callback);
}

/**
 * Consents a grant for `key` and returns its refresh token read back from the manager's store, to
 * hand to a peer library. The manager never refreshes that grant afterwards (nobody asks for `key`).
 */
export async function issueRefreshToken(tokens: TokenManager, store: Keyv, idp: AuthorizationServer, key: string): Promise<{ accessToken: string; refreshToken: string }> {
  await consentGrant(tokens, idp, key);
  const grant = await new GrantStore(store, { operationTimeoutMs: 5_000 }).getGrant(key);
  if (grant === undefined) throw new Error(`No grant stored for ${key}`);
  return { accessToken: grant.accessToken, refreshToken: grant.refreshToken };
}

/**
 * A google-auth-library client whose refreshes go to the test server's token endpoint
 * (client_secret_post, as google-auth-library sends the secret in the body).
 */
export function createGoogleClient(idp: AuthorizationServer, credentials: { accessToken: string; refreshToken?: string; expiryDateMs: number }): OAuth2Client {
  const client = new OAuth2Client({
    clientId: idp.clients.post.clientId,
    clientSecret: idp.clients.post.clientSecret,
    endpoints: { oauth2TokenUrl: new URL('/token', idp.issuer).href },
  });
  client.setCredentials({
    access_token: credentials.accessToken,
    ...(credentials.refreshToken === undefined ? {} : { refresh_token: credentials.refreshToken }),
    expiry_date: credentials.expiryDateMs,
  });
  return client;
}
