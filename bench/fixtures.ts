/**
 * A real authorization server and token managers holding a consented grant, for the sections.
 * @module
 */
import { OAuth2Client } from 'google-auth-library';
import Keyv from 'keyv';
import * as client from 'openid-client';
import { createTokenManager, type GrantInfo, type GrantLock, type TokenManager } from 'offline-tokens';
import { randomBytes } from 'node:crypto';
import type { Grant } from '../src/grant/grant.ts';
import { GrantStore } from '../src/storage/grant-store.ts';
import { makeGrant } from '../src/testing/fixtures.ts';
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
  /** Default: the in-process lock. */
  lock?: GrantLock;
}

/** A token manager for the server's confidential client. */
export function createManager(idp: AuthorizationServer, options: ManagerOptions = {}): Promise<TokenManager> {
  return createTokenManager({
    issuer: idp.issuer,
    clientId: idp.clients.post.clientId,
    clientSecret: idp.clients.post.clientSecret,
    redirectUri: idp.redirectUri,
    allowInsecureRequests: true,
    // The v0.1 key layout (`grant:<key>`): the bench writes synthetic grants under those keys.
    namespace: '',
    store: options.store ?? new Keyv(),
    ...(options.now === undefined ? {} : { now: options.now }),
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    ...(options.lock === undefined ? {} : { lock: options.lock }),
    ...(options.maxCachedGrants === undefined ? {} : { maxCachedGrants: options.maxCachedGrants }),
  });
}

/** Runs a full headless consent for `key`; the manager then holds the grant in its cache and store. */
export async function consentGrant(tokens: TokenManager, idp: AuthorizationServer, key: string): Promise<GrantInfo> {
  const { url, state } = await tokens.startAuthorization({ key });
  const callback = await idp.consent(url);
  return tokens.completeAuthorization(callback, { state });
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

/** What a peer-comparison section starts from. */
export interface PeerScenario {
  idp: AuthorizationServer;
  /** Moves the manager's clock. */
  clock: Clock;
  tokens: TokenManager;
  /** The key of the SDK's grant. */
  key: string;
  grant: GrantInfo;
  /** The access token the SDK hands out before any refresh. */
  before: string;
  /** A second grant's tokens, for google-auth-library. */
  peer: { accessToken: string; refreshToken: string };
}

/**
 * Starts the server, a manager on a clock the section moves, consents one grant for the SDK and one
 * for google-auth-library, runs `fn`, and closes everything.
 */
export async function withPeerScenario<T>(fn: (scenario: PeerScenario) => Promise<T>): Promise<T> {
  const idp = await startIdp();
  const clock: Clock = { nowMs: Date.now() };
  const store = new Keyv();
  const tokens = await createManager(idp, { store, now: () => clock.nowMs });
  try {
    const key = 'user-42';
    const grant = await consentGrant(tokens, idp, key);
    const peer = await issueRefreshToken(tokens, store, idp, 'peer-google');
    const before = await tokens.getAccessToken(key);
    return await fn({ idp, clock, tokens, key, grant, before, peer });
  } finally {
    await tokens.close();
    await idp.close();
  }
}

/** A valid grant of the server's client that the server never issued (for reads that must not refresh). */
export function syntheticGrant(key: string, idp: AuthorizationServer, nowMs: number): Grant {
  return {
    ...makeGrant(key, nowMs),
    issuer: idp.issuer,
    clientId: idp.clients.post.clientId,
    subject: 'test-user',
    refreshToken: randomBytes(32).toString('base64url'),
    accessToken: randomBytes(32).toString('base64url'),
  };
}

/** openid-client configured for the server's `post` client, as an application using it directly would be (the bare baseline). */
export function discoverRaw(idp: AuthorizationServer): Promise<client.Configuration> {
  return client.discovery(
    new URL(idp.issuer),
    idp.clients.post.clientId,
    { redirect_uris: [idp.redirectUri], token_endpoint_auth_method: 'client_secret_post' },
    client.ClientSecretPost(idp.clients.post.clientSecret),
    { execute: [client.allowInsecureRequests] },
  );
}
