/**
 * Local fake authorization servers that behave as real providers document themselves: Google, GitHub
 * App user tokens, a quirky stock OIDC server seen in the field, and a plain OAuth 2.0 server. Each
 * listens on a free loopback port, counts requests, records every secret it issues (the suite's leak
 * check), plays the user's consent without a browser and can inject faults at its token endpoint.
 */
export { startGoogleFake, GOOGLE_FAKE_PATHS, type GoogleFakeOptions } from './fake-providers/google.ts';
export { startGitHubFake, GITHUB_FAKE_PATHS, type GitHubFakeOptions } from './fake-providers/github.ts';
export { startQuirkyOidcServer, QUIRKY_OIDC_PATHS } from './fake-providers/quirky-oidc.ts';
export { startPlainOAuth2Server, PLAIN_OAUTH2_PATHS } from './fake-providers/plain-oauth2.ts';
export { startTransmitFake, TRANSMIT_FAKE_PATHS } from './fake-providers/transmit.ts';
export { startMicrosoftFake, MICROSOFT_FAKE_PATHS, type MicrosoftFakeOptions } from './fake-providers/microsoft.ts';
export { startAuth0Fake, AUTH0_FAKE_PATHS, type Auth0FakeOptions } from './fake-providers/auth0.ts';
export { startOktaFake, OKTA_FAKE_PATHS, OKTA_GRACE_PERIOD_MS } from './fake-providers/okta.ts';
export { startKeycloakFake, KEYCLOAK_FAKE_PATHS, type KeycloakFakeOptions } from './fake-providers/keycloak.ts';
export type {
  AccessTokenState, ConsentOptions, FakeCounters, FakeEndpoints, FakeProvider, FakeProviderOptions, FakeTokenEndpointFault, RefreshTokenState,
} from './fake-providers/types.ts';
