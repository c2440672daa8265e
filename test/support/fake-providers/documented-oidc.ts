/**
 * The shape the preset providers share (Transmit, Microsoft, Auth0, Okta, Keycloak): an OIDC server with
 * its metadata at `<issuer>/.well-known/openid-configuration`, PKCE, RFC 9207 `iss`, ID tokens, and a refresh
 * token only when `offline_access` is asked for. Each provider file states what its documentation says differs.
 */
import { sendJson } from './protocol.ts';
import { refuseUnknownScopes, standardTokenEndpoint, type Profile } from './profile.ts';

export interface DocumentedOidcSpec {
  name: string;
  /** Paths relative to the issuer (without its trailing slash). */
  paths: Profile['paths'] & { metadata: string };
  scopes: string[];
  prefixes: Profile['prefixes'];
  accessTokenTtlS: number;
  refresh: Profile['refresh'];
  /** Extra checks of an authorization request (run after the unknown-scope check). */
  check?: (params: URLSearchParams) => { error: string; description: string } | undefined;
  /** When a code comes with a refresh token; default: `offline_access` was asked for. */
  issueRefreshToken?: Profile['authorization']['issueRefreshToken'];
  revocation?: Profile['revocation'];
  introspection?: Profile['introspection'];
  /** Advertise revocation/introspection in the metadata (default: when served). */
  advertise?: { revocation?: boolean; introspection?: boolean };
  authMethods: string[];
}

export function documentedOidcProfile(issuer: string, spec: DocumentedOidcSpec): Profile {
  const base = issuer.replace(/\/$/, '');
  const url = (path: string): string => `${base}${path}`;
  const { paths } = spec;
  const advertiseRevocation = spec.revocation !== undefined && spec.advertise?.revocation !== false;
  const advertiseIntrospection = spec.introspection !== undefined && spec.advertise?.introspection !== false;
  const metadata = {
    issuer,
    authorization_endpoint: url(paths.authorization),
    token_endpoint: url(paths.token),
    userinfo_endpoint: paths.userinfo === undefined ? undefined : url(paths.userinfo),
    jwks_uri: url(paths.jwks!),
    ...(advertiseRevocation ? { revocation_endpoint: url(paths.revocation!) } : {}),
    ...(advertiseIntrospection ? { introspection_endpoint: url(paths.introspection!) } : {}),
    scopes_supported: spec.scopes,
    response_types_supported: ['code'],
    grant_types_supported: ['authorization_code', 'refresh_token'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
    token_endpoint_auth_methods_supported: spec.authMethods,
    code_challenge_methods_supported: ['S256'],
    authorization_response_iss_parameter_supported: true,
  };
  const scopeCheck = refuseUnknownScopes(spec.scopes);
  return {
    name: spec.name,
    paths,
    routes: { [paths.metadata]: (_req, res) => sendJson(res, 200, metadata) },
    defaultAccessTokenTtlS: spec.accessTokenTtlS,
    prefixes: spec.prefixes,
    tokenType: 'Bearer',
    authorization: {
      requireRedirectUri: true,
      requireResponseType: true,
      requirePkce: false,
      sendIss: true,
      initiallyConsented: false,
      check: (params) => scopeCheck(params) ?? spec.check?.(params),
      issueRefreshToken: spec.issueRefreshToken ?? ((params) => (params.get('scope') ?? '').split(' ').includes('offline_access')),
    },
    token: standardTokenEndpoint(),
    refresh: spec.refresh,
    idToken: true,
    revocation: spec.revocation,
    introspection: spec.introspection,
    userinfo: paths.userinfo === undefined ? undefined : {
      schemes: ['bearer'],
      body: () => ({ sub: 'fake-user-1' }),
      unauthorized: { status: 401, body: { error: 'invalid_token' }, headers: { 'www-authenticate': 'Bearer error="invalid_token"' } },
    },
  };
}
