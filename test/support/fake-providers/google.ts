/**
 * Google as it documents itself (developers.google.com/identity/protocols/oauth2/web-server and
 * developers.google.com/identity/openid-connect/reference): OIDC discovery, a refresh token only for
 * `access_type=offline` (and on a returning user's consent only with `prompt=consent`), refresh tokens
 * that never rotate, RFC 7009-style revocation at `/revoke`, no introspection endpoint.
 */
import { sendJson } from './protocol.ts';
import { startFake } from './engine.ts';
import { standardTokenEndpoint } from './profile.ts';
import type { FakeProvider, FakeProviderOptions } from './types.ts';

export interface GoogleFakeOptions extends FakeProviderOptions {
  /**
   * The test user already consented to this client before (default true). Google returns a refresh
   * token on a user's first consent only; a returning user gets one again only with `prompt=consent`.
   */
  alreadyConsented?: boolean;
}

/** Where the Google fake serves what Google serves on several hosts. */
export const GOOGLE_FAKE_PATHS = {
  authorization: '/o/oauth2/v2/auth',
  token: '/token',
  revocation: '/revoke',
  userinfo: '/v1/userinfo',
  jwks: '/oauth2/v3/certs',
  metadata: '/.well-known/openid-configuration',
} as const;

/** Starts the Google fake (access tokens live 3599 s by default, as Google answers). */
export function startGoogleFake(options: GoogleFakeOptions = {}): Promise<FakeProvider> {
  return startFake(options, (issuer) => {
    const url = (path: string): string => `${issuer}${path}`;
    const metadata = {
      issuer,
      authorization_endpoint: url(GOOGLE_FAKE_PATHS.authorization),
      token_endpoint: url(GOOGLE_FAKE_PATHS.token),
      userinfo_endpoint: url(GOOGLE_FAKE_PATHS.userinfo),
      revocation_endpoint: url(GOOGLE_FAKE_PATHS.revocation),
      jwks_uri: url(GOOGLE_FAKE_PATHS.jwks),
      response_types_supported: ['code', 'token', 'id_token', 'code token', 'code id_token', 'token id_token', 'code token id_token', 'none'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
      scopes_supported: ['openid', 'email', 'profile'],
      token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic'],
      claims_supported: ['aud', 'email', 'email_verified', 'exp', 'iat', 'iss', 'name', 'sub'],
      // Google also takes `plain`; the fake checks S256 only.
      code_challenge_methods_supported: ['S256'],
      grant_types_supported: ['authorization_code', 'refresh_token'],
      authorization_response_iss_parameter_supported: true,
    };
    return {
      name: 'google',
      paths: GOOGLE_FAKE_PATHS,
      routes: { [GOOGLE_FAKE_PATHS.metadata]: (_req, res) => sendJson(res, 200, metadata) },
      defaultAccessTokenTtlS: 3599,
      prefixes: { code: '4/0', access: 'ya29.', refresh: '1//' },
      tokenType: 'Bearer',
      authorization: {
        requireRedirectUri: true,
        requireResponseType: true,
        requirePkce: false,
        sendIss: true,
        initiallyConsented: options.alreadyConsented ?? true,
        check(params) {
          const scopes = (params.get('scope') ?? '').split(' ').filter(Boolean);
          if (scopes.length === 0) return { error: 'invalid_request', description: 'Missing required parameter: scope' };
          // `offline_access` is not Google's mechanism (access_type=offline is); users of other libraries report invalid_scope.
          if (scopes.includes('offline_access')) return { error: 'invalid_scope', description: 'Some requested scopes were invalid. {invalid=[offline_access]}' };
          const accessType = params.get('access_type');
          if (accessType !== null && accessType !== 'online' && accessType !== 'offline') return { error: 'invalid_request', description: 'Invalid access_type' };
          return undefined;
        },
        issueRefreshToken(params, firstConsent) {
          const prompts = (params.get('prompt') ?? '').split(' ');
          return params.get('access_type') === 'offline' && (firstConsent || prompts.includes('consent'));
        },
      },
      token: standardTokenEndpoint({ bad_refresh_token: 'Token has been expired or revoked.', bad_code: 'Malformed auth code.' }),
      // Google refresh tokens do not rotate: a refresh answer has no refresh_token.
      refresh: { rotate: false, revokeAccessTokensOnRotate: false, revokeGrantOnReuse: false },
      idToken: true,
      // Revoking an access token also revokes its refresh token; an unknown token gets 400 invalid_token.
      revocation: { requireClientAuth: false, anyTokenRevokesGrant: true, unknownToken: { status: 400, body: { error: 'invalid_token', error_description: 'Token expired or revoked' } } },
      userinfo: {
        schemes: ['bearer'],
        body: () => ({ sub: 'fake-user-1', email: 'fake-user@example.com', email_verified: true }),
        unauthorized: { status: 401, body: { error: 'invalid_request', error_description: 'Invalid Credentials' }, headers: { 'www-authenticate': 'Bearer realm="https://accounts.google.com/", error="invalid_token"' } },
      },
    };
  });
}
