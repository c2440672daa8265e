import { DAY_MS, freezePreset, type ProviderPreset } from './preset.ts';

/**
 * Transmit Security (Mosaic) as an OpenID Connect provider: offline access with the `offline_access`
 * scope and `prompt=consent`, refresh tokens rotated on every use, 14 days per token and 14 days at most
 * for the whole chain.
 *
 * @example
 * ```ts
 * import { transmit } from 'offline-tokens/providers';
 *
 * const preset = transmit();
 * preset.issuer; // 'https://api.transmitsecurity.io/cis'
 * ```
 */
export function transmit(): ProviderPreset {
  return freezePreset({
    // https://developer.transmitsecurity.com/openapi/user/oidc.openapi (server: https://api.transmitsecurity.io/cis)
    issuer: 'https://api.transmitsecurity.io/cis',
    discovery: 'oidc',
    openid: true,
    // https://developer.transmitsecurity.com/guides/user/auth_offline/ — "in pure OIDC integrations ... the auth call to
    // /oidc/auth must explicitly request the offline_access scope and set the prompt to consent"
    offlineAccess: 'scope',
    prompt: 'consent',
    scope: 'openid offline_access',
    // https://developer.transmitsecurity.com/guides/user/retrieve_client_tokens/ — client_id and client_secret in the form body
    clientAuthMethod: 'client_secret_post',
    // https://developer.transmitsecurity.com/openapi/refresh_tokens — "refresh tokens expire after 2 weeks"
    refreshTokenLifetimeMs: 14 * DAY_MS,
    // https://developer.transmitsecurity.com/openapi/refresh_tokens — "The maximum period of time the token can be rotated is also 2 weeks"
    maxGrantLifetimeMs: 14 * DAY_MS,
    // https://developer.transmitsecurity.com/openapi/refresh_tokens — "refresh tokens are rotated upon each use"; no reuse period documented
    rotationGracePeriodMs: 0,
  });
}
