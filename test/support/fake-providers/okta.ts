/**
 * Okta's org authorization server as its preset (src/providers/okta.ts) cites it: issuer `<origin>`, endpoints
 * under `/oauth2/v1` (developer.okta.com/docs/api/openapi/okta-oauth/oauth/orgas), a refresh token only for
 * `offline_access` (developer.okta.com/docs/guides/refresh-tokens/get-refresh-token/), rotation where "the previous
 * token remains valid for the configured amount of time" (30 s by default) and is refused afterwards
 * (developer.okta.com/docs/guides/refresh-tokens/refresh-token-rotation/), refresh tokens living 90 days,
 * `/v1/introspect` that "takes an access, ID, or refresh token" and `/v1/revoke`, both advertised.
 */
import { startFake } from './engine.ts';
import { documentedOidcProfile } from './documented-oidc.ts';
import type { FakeProvider, FakeProviderOptions } from './types.ts';

export const OKTA_FAKE_PATHS = {
  authorization: '/oauth2/v1/authorize',
  token: '/oauth2/v1/token',
  revocation: '/oauth2/v1/revoke',
  introspection: '/oauth2/v1/introspect',
  userinfo: '/oauth2/v1/userinfo',
  jwks: '/oauth2/v1/keys',
  metadata: '/.well-known/openid-configuration',
} as const;

/** Okta's default refresh token grace period. */
export const OKTA_GRACE_PERIOD_MS = 30_000;

/** Starts the Okta fake (issuer `http://127.0.0.1:<port>`; access tokens live 3600 s). */
export function startOktaFake(options: FakeProviderOptions = {}): Promise<FakeProvider> {
  return startFake(options, (issuer) => documentedOidcProfile(issuer, {
    name: 'okta',
    paths: OKTA_FAKE_PATHS,
    scopes: ['openid', 'offline_access', 'email', 'profile'],
    prefixes: { code: 'okc-', access: 'okat-', refresh: 'okrt-' },
    accessTokenTtlS: 3600,
    authMethods: ['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt', 'none'],
    refresh: { rotate: true, revokeAccessTokensOnRotate: false, revokeGrantOnReuse: true, ttlS: 90 * 86_400, reuseIntervalMs: OKTA_GRACE_PERIOD_MS },
    revocation: { requireClientAuth: true, anyTokenRevokesGrant: false },
    introspection: { refreshTokens: true },
  }));
}
