/**
 * The shape of a provider preset, and the small helpers the presets share: freezing and argument checks.
 * Nothing here imports from the rest of the SDK.
 */
import { ConfigurationError } from '../errors.ts';

/**
 * What a provider documents about itself, as plain data: how to discover it, how to ask for offline
 * access, how to authenticate the client, and how its refresh tokens live and rotate. Absent fields mean
 * "not documented" (or "not applicable"): the SDK then uses what discovery says or its own defaults.
 *
 * @example
 * ```ts
 * import { google, type ProviderPreset } from 'offline-tokens/providers';
 *
 * const preset: ProviderPreset = google();
 * preset.offlineAccess; // 'access_type': Google wants access_type=offline, not the offline_access scope
 * ```
 */
export interface ProviderPreset {
  /** The issuer identifier (exactly as the provider writes it in `iss`; GitHub, which has none, its origin). */
  issuer: string;
  /** Where metadata comes from: OIDC discovery, RFC 8414 metadata, or none (use `metadata`). */
  discovery?: 'oidc' | 'oauth2' | false;
  /** The metadata document's URL, when it is not the default one derived from `issuer`. */
  discoveryUrl?: string;
  /** Endpoints and other metadata known without discovery (`authorization_endpoint`, `token_endpoint`, ...). */
  metadata?: Record<string, unknown>;
  /** The provider speaks OpenID Connect (ID tokens, the `openid` scope). */
  openid?: boolean;
  /** How to ask for a refresh token: the `offline_access` scope, Google's `access_type=offline`, or nothing to ask. */
  offlineAccess?: 'scope' | 'access_type' | 'none';
  /** The `prompt` value to send when asking for offline access, or `false` for none. */
  prompt?: string | false;
  /** How the client authenticates at the token endpoint. */
  clientAuthMethod?: 'client_secret_basic' | 'client_secret_post' | 'none';
  /** The default scope to request. */
  scope?: string;
  /** Extra authorization request parameters. */
  authorizationParams?: Record<string, string>;
  /** How long one refresh token lives (absolute, or unused when the provider documents an idle lifetime), in ms. */
  refreshTokenLifetimeMs?: number;
  /** How long the whole grant (a chain of rotated refresh tokens) can last before the user must consent again, in ms. */
  maxGrantLifetimeMs?: number;
  /**
   * How long a refresh token stays usable after it was rotated away, in ms: 0 means single use (reuse is
   * refused, often revoking the grant). Absent: the provider does not rotate, or documents no such period.
   */
  rotationGracePeriodMs?: number;
  /** `'auto'`: use the introspection endpoint if there is one; `'off'`: the provider has none worth using. */
  introspection?: 'auto' | 'off';
}

/**
 * One day in milliseconds.
 *
 * @example
 * ```ts
 * const refreshTokenLifetimeMs = 14 * DAY_MS;
 * ```
 */
export const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Freezes a preset and the objects inside it.
 *
 * @example
 * ```ts
 * const preset = freezePreset({ discovery: 'oidc', metadata: { revocation_endpoint: 'https://idp.example/revoke' } });
 * Object.isFrozen(preset.metadata); // true
 * ```
 */
export function freezePreset(preset: ProviderPreset): ProviderPreset {
  if (preset.metadata !== undefined) Object.freeze(preset.metadata);
  if (preset.authorizationParams !== undefined) Object.freeze(preset.authorizationParams);
  return Object.freeze(preset);
}

/**
 * The options object of a preset function, or a ConfigurationError naming what is missing.
 *
 * @example
 * ```ts
 * const { tenant } = requireOptions('microsoft', options, 'tenant');
 * ```
 */
export function requireOptions(fn: string, options: unknown, required: string): Record<string, unknown> {
  if (typeof options !== 'object' || options === null) throw new ConfigurationError(`Expected \`${fn}()\` to receive an options object with \`${required}\``);
  return options as Record<string, unknown>;
}

const HOST = /^(?=.{1,253}(?::|$))[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*(?::\d{1,5})?$/;

/**
 * A bare host name (optionally with a port): no scheme, no path. Returned in lower case.
 *
 * @example
 * ```ts
 * requireHost('domain', 'Example.us.auth0.com', 'example.us.auth0.com'); // 'example.us.auth0.com'
 * requireHost('domain', 'https://example.us.auth0.com', 'example.us.auth0.com'); // throws ConfigurationError
 * ```
 */
export function requireHost(name: string, value: unknown, example: string): string {
  if (typeof value !== 'string' || !HOST.test(value)) {
    throw new ConfigurationError(`Expected \`${name}\` to be a host name such as \`${example}\` (no scheme, no path)`);
  }
  return value.toLowerCase();
}

/**
 * A non-empty string made of the characters `pattern` allows.
 *
 * @example
 * ```ts
 * requireToken('realm', 'acme', /^[^/?#]+$/, 'a realm name'); // 'acme'
 * ```
 */
export function requireToken(name: string, value: unknown, pattern: RegExp, what: string): string {
  if (typeof value !== 'string' || !pattern.test(value)) throw new ConfigurationError(`Expected \`${name}\` to be ${what}`);
  return value;
}

/**
 * An absolute http(s) URL without query or fragment; returned without a trailing slash.
 *
 * @example
 * ```ts
 * requireBaseUrl('baseUrl', 'https://sso.example.com/', 'https://sso.example.com'); // 'https://sso.example.com'
 * ```
 */
export function requireBaseUrl(name: string, value: unknown, example: string): string {
  let url: URL | undefined;
  try {
    url = typeof value === 'string' ? new URL(value) : undefined;
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw new ConfigurationError(`Expected \`${name}\` to be an absolute http(s) URL such as \`${example}\` (no query, no fragment)`);
  }
  return `${url.origin}${url.pathname}`.replace(/\/+$/, '');
}
