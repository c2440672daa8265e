/**
 * A Keycloak realm as its preset (src/providers/keycloak.ts) cites it: issuer `<origin>/realms/<realm>`, endpoints
 * under `/protocol/openid-connect` with RFC 7662 introspection that knows refresh tokens and RFC 7009 revocation,
 * both advertised (www.keycloak.org/securing-apps/oidc-layers); `offline_access` for an offline token
 * (www.keycloak.org/docs/latest/server_admin/#_offline-access) idle-expiring after 30 days. Every refresh answers
 * with a new refresh token; with "Revoke Refresh Token" off (the default) the old one stays valid, on it is single
 * use (www.keycloak.org/docs/latest/server_admin/#_timeouts).
 */
import { startFake } from './engine.ts';
import { documentedOidcProfile } from './documented-oidc.ts';
import type { FakeProvider, FakeProviderOptions } from './types.ts';

export const KEYCLOAK_FAKE_PATHS = {
  authorization: '/protocol/openid-connect/auth',
  token: '/protocol/openid-connect/token',
  revocation: '/protocol/openid-connect/revoke',
  introspection: '/protocol/openid-connect/token/introspect',
  userinfo: '/protocol/openid-connect/userinfo',
  jwks: '/protocol/openid-connect/certs',
  metadata: '/.well-known/openid-configuration',
} as const;

export interface KeycloakFakeOptions extends FakeProviderOptions {
  realm: string;
  /** The realm's "Revoke Refresh Token" setting (default off, as in Keycloak). */
  revokeRefreshToken?: boolean;
}

/** Starts the Keycloak fake (issuer `http://127.0.0.1:<port>/realms/<realm>`; access tokens live 300 s). */
export function startKeycloakFake(options: KeycloakFakeOptions): Promise<FakeProvider> {
  const single = options.revokeRefreshToken ?? false;
  return startFake(options, (issuer) => documentedOidcProfile(issuer, {
    name: 'keycloak',
    paths: KEYCLOAK_FAKE_PATHS,
    scopes: ['openid', 'offline_access', 'email', 'profile', 'roles'],
    prefixes: { code: 'kcc-', access: 'kcat-', refresh: 'kcrt-' },
    accessTokenTtlS: 300,
    authMethods: ['private_key_jwt', 'client_secret_basic', 'client_secret_post', 'tls_client_auth', 'client_secret_jwt'],
    issueRefreshToken: () => true,
    refresh: {
      rotate: true, revokeAccessTokensOnRotate: false, revokeGrantOnReuse: single, ttlS: 30 * 86_400,
      reuseIntervalMs: single ? 0 : Number.POSITIVE_INFINITY,
    },
    revocation: { requireClientAuth: true, anyTokenRevokesGrant: false },
    introspection: { refreshTokens: true },
  }), `/realms/${encodeURIComponent(options.realm)}`);
}
