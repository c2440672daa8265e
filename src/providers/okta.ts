import { DAY_MS, freezePreset, requireHost, requireOptions, requireToken, type ProviderPreset } from './preset.ts';

/**
 * Options of {@link okta}.
 *
 * @example
 * ```ts
 * const tokens = await createTokenManager({ ...okta({ domain: 'example.okta.com', authorizationServerId: 'default' }), clientId, clientSecret, redirectUri });
 * ```
 */
export interface OktaOptions {
  /**
   * The Okta org's domain, without scheme or path.
   *
   * @example
   * ```ts
   * okta({ domain: 'example.okta.com' });
   * ```
   */
  domain: string;
  /**
   * A custom authorization server's ID (`default`, or an `aus…` ID). Without it, the org authorization server.
   *
   * @example
   * ```ts
   * okta({ domain: 'example.okta.com', authorizationServerId: 'default' });
   * ```
   */
  authorizationServerId?: string;
}

/**
 * Okta, with the org authorization server or a custom one: offline access with the `offline_access`
 * scope; when rotation is on, a rotated refresh token stays valid for a 30-second grace period by default.
 *
 * @example
 * ```ts
 * import { okta } from 'offline-tokens/providers';
 *
 * okta({ domain: 'example.okta.com' }).issuer; // 'https://example.okta.com'
 * okta({ domain: 'example.okta.com', authorizationServerId: 'default' }).issuer; // 'https://example.okta.com/oauth2/default'
 * ```
 */
export function okta(options: OktaOptions): ProviderPreset {
  const { domain, authorizationServerId } = requireOptions('okta', options, 'domain');
  const host = requireHost('domain', domain, 'example.okta.com');
  const serverId = authorizationServerId === undefined
    ? undefined
    : requireToken('authorizationServerId', authorizationServerId, /^[A-Za-z0-9]+$/, 'an authorization server ID such as `default`');
  const issuer = serverId === undefined ? `https://${host}` : `https://${host}/oauth2/${serverId}`;
  return freezePreset({
    // https://developer.okta.com/docs/api/openapi/okta-oauth/oauth/orgas — the org authorization server's issuer is
    // https://{yourOktaDomain}; a custom one's metadata is https://{yourOktaDomain}/oauth2/{authServerId}/.well-known/openid-configuration
    // (https://developer.okta.com/docs/guides/configure-access-policy/configure-token-lifetime-per-client/)
    issuer,
    discovery: 'oidc',
    openid: true,
    // https://developer.okta.com/docs/guides/refresh-tokens/get-refresh-token/ — the offline_access scope "must be
    // requested as part of the code request to the /authorize endpoint"
    offlineAccess: 'scope',
    scope: 'openid offline_access',
    // https://support.okta.com/help/s/article/What-is-the-lifetime-of-the-JWT-tokens — org authorization server: "Refresh
    // Token: 90 days" (fixed); a custom server's lifetime is set by its access policy (10 minutes to unlimited)
    ...(serverId === undefined ? { refreshTokenLifetimeMs: 90 * DAY_MS } : {}),
    // https://developer.okta.com/docs/guides/refresh-tokens/refresh-token-rotation/ — "the previous token remains valid for
    // the configured amount of time"; the leeway defaults to 30 s (Okta SDK model OpenIdConnectApplicationSettingsRefreshToken,
    // "[default to 30]"). Rotation is the default for SPAs; web apps default to persistent (non-rotating) refresh tokens
    // (https://developer.okta.com/docs/guides/refresh-tokens/get-refresh-token/).
    rotationGracePeriodMs: 30_000,
    // https://developer.okta.com/docs/api/openapi/okta-oauth/oauth — /v1/introspect "takes an access, ID, or refresh token";
    // /v1/revoke revokes them (both in the discovery document)
    introspection: 'auto',
  });
}
