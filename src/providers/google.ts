import { DAY_MS, freezePreset, type ProviderPreset } from './preset.ts';

/**
 * Google (OpenID Connect): a refresh token only with `access_type=offline`, and again after the first
 * consent only with `prompt=consent`; refresh tokens do not rotate; revocation but no introspection.
 *
 * @example
 * ```ts
 * import { google } from 'offline-tokens/providers';
 *
 * const preset = google();
 * preset.offlineAccess; // 'access_type' — send access_type=offline, never the offline_access scope
 * ```
 */
export function google(): ProviderPreset {
  return freezePreset({
    // https://developers.google.com/identity/openid-connect/reference — discovery document at
    // https://accounts.google.com/.well-known/openid-configuration, issuer https://accounts.google.com
    issuer: 'https://accounts.google.com',
    discovery: 'oidc',
    openid: true,
    scope: 'openid',
    // https://developers.google.com/identity/protocols/oauth2/web-server#offline — set access_type=offline to get a refresh token
    offlineAccess: 'access_type',
    // https://developers.google.com/identity/protocols/oauth2/web-server#offline — the refresh token comes with the first
    // consent only; prompt=consent asks again and returns one every time
    prompt: 'consent',
    // https://developers.google.com/identity/protocols/oauth2/web-server#exchange-authorization-code — client_id and
    // client_secret in the POST body
    clientAuthMethod: 'client_secret_post',
    // https://developers.google.com/identity/protocols/oauth2#expiration — a refresh token stops working when it "has not
    // been used for six months" (taken as 180 days; 7 days for apps whose consent screen is in "Testing")
    refreshTokenLifetimeMs: 180 * DAY_MS,
    // https://developers.google.com/identity/protocols/oauth2/web-server#offline — a refresh answers with a new access
    // token only: Google refresh tokens do not rotate, so there is no rotation grace period to state.
    // https://developers.google.com/identity/openid-connect/reference — the discovery document lists revocation_endpoint
    // and no introspection_endpoint
    introspection: 'off',
  });
}
