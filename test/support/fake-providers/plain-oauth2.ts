/**
 * A plain OAuth 2.0 server (no OIDC): RFC 8414 metadata at `/.well-known/oauth-authorization-server`
 * only, `openid` refused as an unknown scope, no ID token, a refresh token on every grant, rotation on
 * every use with the grant revoked when a used refresh token comes back, RFC 7009 revocation and RFC 7662
 * introspection that knows refresh tokens too. A rotation leaves earlier access tokens alive until they expire.
 */
import { sendJson } from './protocol.ts';
import { startFake } from './engine.ts';
import { refuseUnknownScopes, standardTokenEndpoint } from './profile.ts';
import type { FakeProvider, FakeProviderOptions } from './types.ts';

export const PLAIN_OAUTH2_PATHS = {
  authorization: '/authorize',
  token: '/token',
  revocation: '/revoke',
  introspection: '/introspect',
  /** A protected resource that accepts only a live access token. */
  userinfo: '/api/me',
  metadata: '/.well-known/oauth-authorization-server',
} as const;

const SCOPES = ['api:read', 'api:write'];

/** Starts the plain OAuth 2.0 server (access tokens live 3600 s by default). */
export function startPlainOAuth2Server(options: FakeProviderOptions = {}): Promise<FakeProvider> {
  return startFake(options, (issuer) => {
    const url = (path: string): string => `${issuer}${path}`;
    const metadata = {
      issuer,
      authorization_endpoint: url(PLAIN_OAUTH2_PATHS.authorization),
      token_endpoint: url(PLAIN_OAUTH2_PATHS.token),
      revocation_endpoint: url(PLAIN_OAUTH2_PATHS.revocation),
      introspection_endpoint: url(PLAIN_OAUTH2_PATHS.introspection),
      scopes_supported: SCOPES,
      response_types_supported: ['code'],
      grant_types_supported: ['authorization_code', 'refresh_token'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      code_challenge_methods_supported: ['S256'],
      authorization_response_iss_parameter_supported: true,
    };
    return {
      name: 'plain-oauth2',
      paths: PLAIN_OAUTH2_PATHS,
      routes: { [PLAIN_OAUTH2_PATHS.metadata]: (_req, res) => sendJson(res, 200, metadata) },
      defaultAccessTokenTtlS: 3600,
      prefixes: { code: 'pc-', access: 'pat-', refresh: 'prt-' },
      tokenType: 'Bearer',
      authorization: {
        requireRedirectUri: true,
        requireResponseType: true,
        requirePkce: true,
        sendIss: true,
        initiallyConsented: false,
        check: refuseUnknownScopes(SCOPES),
        issueRefreshToken: () => true,
      },
      token: standardTokenEndpoint(),
      refresh: { rotate: true, revokeAccessTokensOnRotate: false, revokeGrantOnReuse: true },
      idToken: false,
      revocation: { requireClientAuth: true, anyTokenRevokesGrant: false },
      introspection: { refreshTokens: true },
      userinfo: {
        schemes: ['bearer'],
        body: () => ({ sub: 'fake-user-1' }),
        unauthorized: { status: 401, body: { error: 'invalid_token' }, headers: { 'www-authenticate': 'Bearer error="invalid_token"' } },
      },
    };
  });
}
