/**
 * The Microsoft identity platform (v2.0) as its preset (src/providers/microsoft.ts) cites it: issuer
 * `<origin>/<tenant>/v2.0` with the metadata under it, a refresh token only for `offline_access`
 * (learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow), refresh tokens that "replace
 * themselves with a fresh token upon every use" while the platform "doesn't revoke old refresh tokens when used",
 * 90 days each (learn.microsoft.com/en-us/entra/identity-platform/refresh-tokens); neither RFC 7009 revocation
 * nor RFC 7662 introspection. (The fake serves its endpoints under the issuer path, not under `/oauth2/v2.0`.)
 */
import { startFake } from './engine.ts';
import { documentedOidcProfile } from './documented-oidc.ts';
import type { FakeProvider, FakeProviderOptions } from './types.ts';

export const MICROSOFT_FAKE_PATHS = {
  authorization: '/oauth2/authorize',
  token: '/oauth2/token',
  userinfo: '/oidc/userinfo',
  jwks: '/discovery/keys',
  metadata: '/.well-known/openid-configuration',
} as const;

const NINETY_DAYS_S = 90 * 86_400;

export interface MicrosoftFakeOptions extends FakeProviderOptions {
  /** The tenant ID in the issuer's path. */
  tenant: string;
}

/** Starts the Microsoft fake (issuer `http://127.0.0.1:<port>/<tenant>/v2.0`; access tokens live 3599 s). */
export function startMicrosoftFake(options: MicrosoftFakeOptions): Promise<FakeProvider> {
  return startFake(options, (issuer) => documentedOidcProfile(issuer, {
    name: 'microsoft',
    paths: MICROSOFT_FAKE_PATHS,
    scopes: ['openid', 'offline_access', 'email', 'profile'],
    prefixes: { code: '1.AXkA-', access: 'eyJ0eXAi-', refresh: '0.AXkA-' },
    accessTokenTtlS: 3599,
    authMethods: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    refresh: { rotate: true, revokeAccessTokensOnRotate: false, revokeGrantOnReuse: false, ttlS: NINETY_DAYS_S, reuseIntervalMs: Number.POSITIVE_INFINITY },
  }), `/${options.tenant}/v2.0`);
}
