import { DAY_MS, freezePreset, requireOptions, requireToken, type ProviderPreset } from './preset.ts';

/**
 * Options of {@link microsoft}.
 *
 * @example
 * ```ts
 * const tokens = await createTokenManager({ ...microsoft({ tenant: 'organizations' }), clientId, clientSecret, redirectUri });
 * ```
 */
export interface MicrosoftOptions {
  /**
   * The tenant: its ID (a GUID), one of its domains (`contoso.onmicrosoft.com`), or `common`,
   * `organizations` or `consumers`.
   *
   * @example
   * ```ts
   * microsoft({ tenant: 'organizations' });
   * ```
   */
  tenant: string;
}

/**
 * The Microsoft identity platform (Entra ID, v2.0 endpoints): offline access with the `offline_access`
 * scope, refresh tokens that last 90 days and replace themselves on use without the old one being revoked.
 *
 * For `common`, `organizations` and `consumers` the metadata's `issuer` is a template
 * (`https://login.microsoftonline.com/{tenantid}/v2.0`): the `iss` of a token names the user's tenant.
 *
 * @example
 * ```ts
 * import { microsoft } from 'offline-tokens/providers';
 *
 * const preset = microsoft({ tenant: 'common' });
 * preset.issuer; // 'https://login.microsoftonline.com/common/v2.0'
 * ```
 */
export function microsoft(options: MicrosoftOptions): ProviderPreset {
  const { tenant } = requireOptions('microsoft', options, 'tenant');
  const id = requireToken('tenant', tenant, /^[A-Za-z0-9][A-Za-z0-9.-]*$/, 'a tenant ID, a tenant domain, `common`, `organizations` or `consumers`');
  const issuer = `https://login.microsoftonline.com/${id}/v2.0`;
  return freezePreset({
    // https://learn.microsoft.com/en-us/entra/identity-platform/v2-protocols-oidc — endpoints under the tenant-scoped
    // authority https://login.microsoftonline.com/{tenant}/v2.0, metadata at .../v2.0/.well-known/openid-configuration
    issuer,
    // Default discovery (not an exact `discoveryUrl`): for `common`, `organizations` and `consumers` the
    // metadata's issuer is the template `https://login.microsoftonline.com/{tenantid}/v2.0`, which
    // openid-client's discovery accepts (and checks ID tokens against, per tenant) for Entra ID.
    discovery: 'oidc',
    openid: true,
    // https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow — a refresh token only when the
    // offline_access scope was requested
    offlineAccess: 'scope',
    scope: 'openid offline_access',
    // https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow — client_secret in the body of the
    // token request
    clientAuthMethod: 'client_secret_post',
    // https://learn.microsoft.com/en-us/entra/identity-platform/refresh-tokens — "The default lifetime for the refresh tokens
    // is 24 hours for single page apps and 90 days for all other scenarios" (and it cannot be configured)
    refreshTokenLifetimeMs: 90 * DAY_MS,
    // https://learn.microsoft.com/en-us/entra/identity-platform/refresh-tokens — "Refresh tokens replace themselves with a
    // fresh token upon every use. The Microsoft identity platform doesn't revoke old refresh tokens when used": an old one
    // stays usable until it expires
    rotationGracePeriodMs: 90 * DAY_MS,
    // https://learn.microsoft.com/en-us/entra/identity-platform/v2-protocols-oidc — the endpoint overview lists no RFC 7662
    // introspection endpoint (access tokens are validated as JWTs)
    introspection: 'off',
  });
}
