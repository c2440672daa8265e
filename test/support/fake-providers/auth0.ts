/**
 * Auth0 as its preset (src/providers/auth0.ts) cites it: issuer `<origin>/` (trailing slash), a refresh token
 * only for `offline_access` (auth0.com/docs/secure/tokens/refresh-tokens/get-refresh-tokens), rotation on every
 * use with reuse detection and no reuse interval by default — a rotated token presented again revokes the family
 * (auth0.com/docs/secure/tokens/refresh-tokens/configure-refresh-token-rotation) — and `/oauth/revoke`
 * (auth0.com/docs/secure/tokens/refresh-tokens/revoke-refresh-tokens), which this fake does not advertise: the
 * preset's `metadata` names it. No introspection.
 */
import { startFake } from './engine.ts';
import { documentedOidcProfile } from './documented-oidc.ts';
import type { FakeProvider, FakeProviderOptions } from './types.ts';

export const AUTH0_FAKE_PATHS = {
  authorization: '/authorize',
  token: '/oauth/token',
  revocation: '/oauth/revoke',
  userinfo: '/userinfo',
  jwks: '/.well-known/jwks.json',
  metadata: '/.well-known/openid-configuration',
} as const;

export interface Auth0FakeOptions extends FakeProviderOptions {
  /** The tenant's reuse interval in ms (default 0: disabled, as Auth0 documents). */
  reuseIntervalMs?: number;
}

/** Starts the Auth0 fake (issuer `http://127.0.0.1:<port>/`; access tokens live 86400 s, Auth0's default). */
export function startAuth0Fake(options: Auth0FakeOptions = {}): Promise<FakeProvider> {
  return startFake(options, (issuer) => documentedOidcProfile(issuer, {
    name: 'auth0',
    paths: AUTH0_FAKE_PATHS,
    scopes: ['openid', 'offline_access', 'email', 'profile'],
    prefixes: { code: 'a0c-', access: 'a0at-', refresh: 'v1.a0rt-' },
    accessTokenTtlS: 86_400,
    authMethods: ['client_secret_basic', 'client_secret_post'],
    refresh: { rotate: true, revokeAccessTokensOnRotate: false, revokeGrantOnReuse: true, reuseIntervalMs: options.reuseIntervalMs ?? 0 },
    revocation: { requireClientAuth: true, anyTokenRevokesGrant: false },
    advertise: { revocation: false },
  }), '/');
}
