/**
 * Provider presets as plain data (`offline-tokens/providers`): what each provider documents about
 * discovery, offline access, client authentication, refresh-token lifetimes, rotation and revocation.
 */
import { auth0 } from './auth0.ts';
import { github } from './github.ts';
import { google } from './google.ts';
import { keycloak } from './keycloak.ts';
import { microsoft } from './microsoft.ts';
import { okta } from './okta.ts';
import { transmit } from './transmit.ts';

export type { ProviderPreset } from './preset.ts';
export type { Auth0Options } from './auth0.ts';
export type { KeycloakOptions } from './keycloak.ts';
export type { MicrosoftOptions } from './microsoft.ts';
export type { OktaOptions } from './okta.ts';
export { auth0, github, google, keycloak, microsoft, okta, transmit };

/**
 * Every preset function by name.
 *
 * @example
 * ```ts
 * import { providers } from 'offline-tokens/providers';
 *
 * const preset = providers.keycloak({ baseUrl: 'https://sso.example.com', realm: 'acme' });
 * ```
 */
export const providers = Object.freeze({
  /** Transmit Security: {@link transmit}. */
  transmit,
  /** Google: {@link google}. */
  google,
  /** Microsoft identity platform (Entra ID): {@link microsoft}. */
  microsoft,
  /** Auth0: {@link auth0}. */
  auth0,
  /** Okta: {@link okta}. */
  okta,
  /** Keycloak: {@link keycloak}. */
  keycloak,
  /** GitHub Apps (user access tokens): {@link github}. */
  github,
});
