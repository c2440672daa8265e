import { freezePreset, type ProviderPreset } from './preset.ts';

/** `refresh_token_expires_in` as GitHub documents it, in seconds ("6 months"). */
const REFRESH_TOKEN_EXPIRES_IN_S = 15_897_600;

/**
 * GitHub App user access tokens: no discovery document, no ID token, user tokens that expire after 8 hours
 * and single-use refresh tokens that expire after 6 months. Send `Accept: application/json` to the token endpoint.
 *
 * @example
 * ```ts
 * import { github } from 'offline-tokens/providers';
 *
 * const preset = github();
 * preset.metadata?.token_endpoint; // 'https://github.com/login/oauth/access_token'
 * ```
 */
export function github(): ProviderPreset {
  return freezePreset({
    // No issuer identifier is documented (no discovery): GitHub's origin names the grants and the namespace.
    issuer: 'https://github.com',
    // https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-user-access-token-for-a-github-app
    // — no discovery document: the endpoints are given in the documentation
    discovery: false,
    metadata: {
      authorization_endpoint: 'https://github.com/login/oauth/authorize',
      token_endpoint: 'https://github.com/login/oauth/access_token',
      // https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps — "use the access token to access the API": GET /user
      userinfo_endpoint: 'https://api.github.com/user',
    },
    // same page — a user access token "does not use scopes" (fine-grained permissions instead); no ID token
    openid: false,
    // https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/refreshing-user-access-tokens —
    // the refresh token comes with every user token when expiration is enabled (the default): nothing to ask for
    offlineAccess: 'none',
    prompt: false,
    // https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/refreshing-user-access-tokens —
    // client_id and client_secret are request parameters
    clientAuthMethod: 'client_secret_post',
    // same page — "refresh_token_expires_in ... The value will always be 15897600 (6 months)"
    refreshTokenLifetimeMs: REFRESH_TOKEN_EXPIRES_IN_S * 1000,
    // same page — "Once you use a refresh token, that refresh token and the old user access token will no longer work"
    rotationGracePeriodMs: 0,
    // https://docs.github.com/en/rest/apps/oauth-applications — tokens are checked with POST /applications/{client_id}/token
    // and revoked with DELETE /applications/{client_id}/grant, not with RFC 7662/7009 endpoints
    introspection: 'off',
    // Token endpoint answers are form-encoded unless the request accepts JSON: openid-client always sends
    // `Accept: application/json` (docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps).
  });
}
