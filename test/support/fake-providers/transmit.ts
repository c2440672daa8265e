/**
 * Transmit Security (Mosaic) as its preset (src/providers/transmit.ts) cites it: issuer `<origin>/cis`, a
 * refresh token only for `offline_access` together with `prompt=consent`
 * (developer.transmitsecurity.com/guides/user/auth_offline/), refresh tokens "rotated upon each use" with no
 * reuse period and living 2 weeks (developer.transmitsecurity.com/openapi/refresh_tokens), client_secret_post;
 * no revocation or introspection endpoint in the metadata.
 */
import { startFake } from './engine.ts';
import { documentedOidcProfile } from './documented-oidc.ts';
import type { FakeProvider, FakeProviderOptions } from './types.ts';

export const TRANSMIT_FAKE_PATHS = {
  authorization: '/oidc/auth',
  token: '/oidc/token',
  userinfo: '/oidc/me',
  jwks: '/oidc/jwks',
  metadata: '/.well-known/openid-configuration',
} as const;

/** Starts the Transmit fake (issuer `http://127.0.0.1:<port>/cis`; access tokens live 3600 s). */
export function startTransmitFake(options: FakeProviderOptions = {}): Promise<FakeProvider> {
  return startFake(options, (issuer) => documentedOidcProfile(issuer, {
    name: 'transmit',
    paths: TRANSMIT_FAKE_PATHS,
    scopes: ['openid', 'offline_access', 'email', 'profile'],
    prefixes: { code: 'tsc-', access: 'tsat-', refresh: 'tsrt-' },
    accessTokenTtlS: 3600,
    authMethods: ['client_secret_post', 'client_secret_basic'],
    // "must explicitly request the offline_access scope and set the prompt to consent"
    issueRefreshToken: (params) => (params.get('scope') ?? '').split(' ').includes('offline_access') && (params.get('prompt') ?? '').split(' ').includes('consent'),
    refresh: { rotate: true, revokeAccessTokensOnRotate: false, revokeGrantOnReuse: false, ttlS: 14 * 86_400, reuseIntervalMs: 0 },
  }), '/cis');
}
