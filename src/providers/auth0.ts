import { DAY_MS, freezePreset, requireHost, requireOptions, type ProviderPreset } from './preset.ts';

/**
 * Options of {@link auth0}.
 *
 * @example
 * ```ts
 * const tokens = await createTokenManager({ ...auth0({ domain: 'example.us.auth0.com' }), clientId, clientSecret, redirectUri });
 * ```
 */
export interface Auth0Options {
  /**
   * The tenant's domain (or custom domain), without scheme or path.
   *
   * @example
   * ```ts
   * auth0({ domain: 'example.us.auth0.com' });
   * ```
   */
  domain: string;
}

/**
 * Auth0: offline access with the `offline_access` scope (the API must allow offline access); with refresh
 * token rotation on, reuse is detected with no reuse interval by default and the family lives 30 days.
 *
 * @example
 * ```ts
 * import { auth0 } from 'offline-tokens/providers';
 *
 * const preset = auth0({ domain: 'example.us.auth0.com' });
 * preset.issuer; // 'https://example.us.auth0.com/'
 * ```
 */
export function auth0(options: Auth0Options): ProviderPreset {
  const { domain } = requireOptions('auth0', options, 'domain');
  const host = requireHost('domain', domain, 'example.us.auth0.com');
  return freezePreset({
    // https://github.com/spring-projects/spring-boot/issues/15324 — "Auth0's iss field always has a trailing slash"
    // (discovery at https://{domain}/.well-known/openid-configuration)
    issuer: `https://${host}/`,
    discovery: 'oidc',
    openid: true,
    // https://auth0.com/docs/secure/tokens/refresh-tokens/get-refresh-tokens — "include the offline_access scope when you
    // initiate an authentication request through the /authorize endpoint"
    offlineAccess: 'scope',
    scope: 'openid offline_access',
    // https://auth0.com/docs/secure/tokens/refresh-tokens/get-refresh-tokens — the code exchange sends client_id and
    // client_secret as form data
    clientAuthMethod: 'client_secret_post',
    metadata: {
      // https://auth0.com/docs/secure/tokens/refresh-tokens/revoke-refresh-tokens — "Post a request to the Authentication
      // API /oauth/revoke endpoint"
      revocation_endpoint: `https://${host}/oauth/revoke`,
    },
    // https://auth0.com/docs/secure/tokens/refresh-tokens/configure-refresh-token-expiration — absolute lifetime "Default
    // 2,592,000 seconds (30 days)"; with rotation it "is defined on creation and is not changed, even with an exchange"
    maxGrantLifetimeMs: 30 * DAY_MS,
    // https://auth0.com/docs/secure/tokens/refresh-tokens/configure-refresh-token-rotation — the reuse interval (leeway)
    // "is disabled" by default: a second use of a rotated token triggers reuse detection
    rotationGracePeriodMs: 0,
  });
}
