import { DAY_MS, freezePreset, requireBaseUrl, requireOptions, requireToken, type ProviderPreset } from './preset.ts';

/**
 * Options of {@link keycloak}.
 *
 * @example
 * ```ts
 * const tokens = await createTokenManager({ ...keycloak({ baseUrl: 'https://sso.example.com', realm: 'acme' }), clientId, clientSecret, redirectUri });
 * ```
 */
export interface KeycloakOptions {
  /**
   * The server's base URL, with the `/auth` path if the server still uses it (Keycloak before 17).
   *
   * @example
   * ```ts
   * keycloak({ baseUrl: 'https://sso.example.com', realm: 'acme' });
   * ```
   */
  baseUrl: string;
  /**
   * The realm's name.
   *
   * @example
   * ```ts
   * keycloak({ baseUrl: 'https://sso.example.com', realm: 'acme' }).issuer; // 'https://sso.example.com/realms/acme'
   * ```
   */
  realm: string;
}

/**
 * Keycloak: one issuer per realm, `offline_access` for offline tokens (30 days idle by default), RFC 7009
 * revocation and RFC 7662 introspection at the realm's endpoints. Refresh tokens are not single use unless
 * the realm turns on "Revoke Refresh Token".
 *
 * @example
 * ```ts
 * import { keycloak } from 'offline-tokens/providers';
 *
 * const preset = keycloak({ baseUrl: 'https://sso.example.com', realm: 'acme' });
 * preset.metadata?.introspection_endpoint; // 'https://sso.example.com/realms/acme/protocol/openid-connect/token/introspect'
 * ```
 */
export function keycloak(options: KeycloakOptions): ProviderPreset {
  const { baseUrl, realm } = requireOptions('keycloak', options, 'baseUrl` and `realm');
  const base = requireBaseUrl('baseUrl', baseUrl, 'https://sso.example.com');
  const name = requireToken('realm', realm, /^[^/?#\s]+$/, 'a realm name (no slash, no whitespace)');
  const issuer = `${base}/realms/${encodeURIComponent(name)}`;
  return freezePreset({
    // https://www.keycloak.org/securing-apps/oidc-layers — "/realms/{realm-name}/.well-known/openid-configuration";
    // the issuer is the realm's URL
    issuer,
    discovery: 'oidc',
    openid: true,
    metadata: {
      // https://www.keycloak.org/securing-apps/oidc-layers — "Introspection endpoint
      // /realms/{realm-name}/protocol/openid-connect/token/introspect"
      introspection_endpoint: `${issuer}/protocol/openid-connect/token/introspect`,
      // https://github.com/louketo/louketo-proxy/issues/662 — RFC 7009 revocation since Keycloak 10 at
      // /realms/{realm-name}/protocol/openid-connect/revoke (revoking a refresh token also revokes the client's consent:
      // https://github.com/keycloak/keycloak/issues/12916)
      revocation_endpoint: `${issuer}/protocol/openid-connect/revoke`,
    },
    // https://www.keycloak.org/docs/latest/server_admin/#_offline-access — the client asks for an offline token (the
    // offline_access scope) instead of a classic refresh token; it survives logout and server restarts
    offlineAccess: 'scope',
    scope: 'openid offline_access',
    // https://www.keycloak.org/docs/latest/server_admin/#_offline-access — "by default you do need to use the offline token
    // for a refresh token action at least once per 30 days" (Offline Session Idle)
    refreshTokenLifetimeMs: 30 * DAY_MS,
    // https://www.keycloak.org/docs/latest/server_admin/#_timeouts — "Revoke Refresh Token" (off by default) makes refresh
    // tokens one-time use; off, a used refresh token stays valid, so no grace period is stated here
    introspection: 'auto',
  });
}
