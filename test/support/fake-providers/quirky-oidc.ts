/**
 * An independent OIDC authorization server with stock settings, as observed in the field
 * (/work/shared/FIELD-NOTES.md): metadata only at `<issuer>/.well-known/openid-configuration/` (the
 * slash-less URL answers 301), neither revocation nor introspection advertised although both exist,
 * introspection that knows access tokens only, and rotation on every use where a rotation kills the
 * previous access token and a reused refresh token revokes the whole grant.
 */
import { sendJson } from './protocol.ts';
import { startFake } from './engine.ts';
import { refuseUnknownScopes, standardTokenEndpoint } from './profile.ts';
import type { FakeProvider, FakeProviderOptions } from './types.ts';

export const QUIRKY_OIDC_PATHS = {
  authorization: '/oauth2/authorize',
  token: '/oauth2/token',
  userinfo: '/oauth2/userinfo',
  jwks: '/oauth2/jwks',
  metadata: '/.well-known/openid-configuration/',
  /** Served but not advertised in the metadata (RFC 7009). */
  revocation: '/oauth2/revoke',
  /** Served but not advertised in the metadata (RFC 7662); answers `{"active": false}` for any refresh token. */
  introspection: '/oauth2/introspect',
} as const;

const SCOPES = ['openid', 'offline_access', 'email', 'profile', 'api:read'];

/** Starts the quirky server (access tokens live 3600 s by default). */
export function startQuirkyOidcServer(options: FakeProviderOptions = {}): Promise<FakeProvider> {
  return startFake(options, (issuer) => {
    const url = (path: string): string => `${issuer}${path}`;
    const metadata = {
      issuer,
      authorization_endpoint: url(QUIRKY_OIDC_PATHS.authorization),
      token_endpoint: url(QUIRKY_OIDC_PATHS.token),
      userinfo_endpoint: url(QUIRKY_OIDC_PATHS.userinfo),
      jwks_uri: url(QUIRKY_OIDC_PATHS.jwks),
      scopes_supported: SCOPES,
      response_types_supported: ['code'],
      grant_types_supported: ['authorization_code', 'refresh_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      code_challenge_methods_supported: ['S256'],
      authorization_response_iss_parameter_supported: true,
    };
    return {
      name: 'quirky-oidc',
      paths: QUIRKY_OIDC_PATHS,
      routes: {
        [QUIRKY_OIDC_PATHS.metadata]: (_req, res) => sendJson(res, 200, metadata),
        '/.well-known/openid-configuration': (_req, res) => {
          res.writeHead(301, { location: url(QUIRKY_OIDC_PATHS.metadata) });
          res.end();
        },
      },
      defaultAccessTokenTtlS: 3600,
      prefixes: { code: 'qc-', access: 'qat-', refresh: 'qrt-' },
      tokenType: 'Bearer',
      authorization: {
        requireRedirectUri: true,
        requireResponseType: true,
        requirePkce: true,
        sendIss: true,
        initiallyConsented: false,
        check: refuseUnknownScopes(SCOPES),
        // A refresh token only when asked for `offline_access`.
        issueRefreshToken: (params) => (params.get('scope') ?? '').split(' ').includes('offline_access'),
      },
      token: standardTokenEndpoint({ bad_refresh_token: 'grant request is invalid' }),
      refresh: { rotate: true, revokeAccessTokensOnRotate: true, revokeGrantOnReuse: true },
      idToken: true,
      revocation: { requireClientAuth: true, anyTokenRevokesGrant: false },
      introspection: { refreshTokens: false },
      userinfo: {
        schemes: ['bearer'],
        body: () => ({ sub: 'fake-user-1', email: 'fake-user@example.com' }),
        unauthorized: { status: 401, body: { error: 'invalid_token' }, headers: { 'www-authenticate': 'Bearer error="invalid_token"' } },
      },
    };
  });
}
