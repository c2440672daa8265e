/**
 * Provider presets: each one's documented shape, argument validation, and that every preset is a
 * valid set of `createTokenManager` options (type-checked, and accepted by the option validation).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Keyv from 'keyv';
import { ConfigurationError, createTokenManager, type TokenManagerOptions } from 'offline-tokens';
import { auth0, github, google, keycloak, microsoft, okta, providers, transmit, type ProviderPreset } from 'offline-tokens/providers';

const DAY_MS = 24 * 60 * 60 * 1000;
const FIELDS = new Set([
  'issuer', 'discovery', 'discoveryUrl', 'metadata', 'openid', 'offlineAccess', 'prompt', 'clientAuthMethod', 'scope',
  'authorizationParams', 'refreshTokenLifetimeMs', 'maxGrantLifetimeMs', 'rotationGracePeriodMs', 'introspection',
]);

/** Only known fields, each of its documented type; frozen all the way down. */
function assertWellFormed(preset: ProviderPreset): void {
  for (const key of Object.keys(preset)) assert.ok(FIELDS.has(key), `unknown field ${key}`);
  assert.ok(Object.isFrozen(preset));
  if (preset.metadata) assert.ok(Object.isFrozen(preset.metadata));
  if (preset.authorizationParams) assert.ok(Object.isFrozen(preset.authorizationParams));
  if (preset.issuer !== undefined) assert.match(preset.issuer, /^https:\/\//);
  assert.ok([undefined, 'oidc', 'oauth2', false].includes(preset.discovery));
  assert.ok([undefined, 'scope', 'access_type', 'none'].includes(preset.offlineAccess));
  assert.ok([undefined, 'client_secret_basic', 'client_secret_post', 'none'].includes(preset.clientAuthMethod));
  assert.ok([undefined, 'auto', 'off'].includes(preset.introspection));
  for (const name of ['refreshTokenLifetimeMs', 'maxGrantLifetimeMs', 'rotationGracePeriodMs'] as const) {
    const value = preset[name];
    assert.ok(value === undefined || (Number.isInteger(value) && value >= 0), `${name} is a non-negative integer`);
  }
  if (preset.discovery === false) {
    assert.equal(typeof preset.metadata?.authorization_endpoint, 'string');
    assert.equal(typeof preset.metadata?.token_endpoint, 'string');
  } else {
    assert.equal(typeof preset.issuer, 'string', 'discovery needs an issuer');
  }
  if (preset.offlineAccess === 'scope') assert.ok(preset.scope?.split(' ').includes('offline_access'));
}

describe('provider presets', () => {
  it('lists every preset in `providers`', () => {
    assert.deepEqual(Object.keys(providers).sort(), ['auth0', 'github', 'google', 'keycloak', 'microsoft', 'okta', 'transmit']);
    assert.ok(Object.isFrozen(providers));
    assert.equal(providers.google, google);
  });

  it('transmit: offline_access with prompt=consent, client_secret_post, 14-day tokens and grants, rotation on every use', () => {
    const preset = transmit();
    assertWellFormed(preset);
    assert.deepEqual(
      { ...preset },
      {
        issuer: 'https://api.transmitsecurity.io/cis', discovery: 'oidc', openid: true, offlineAccess: 'scope', prompt: 'consent',
        scope: 'openid offline_access', clientAuthMethod: 'client_secret_post', refreshTokenLifetimeMs: 14 * DAY_MS,
        maxGrantLifetimeMs: 14 * DAY_MS, rotationGracePeriodMs: 0,
      },
    );
    assert.notEqual(transmit(), preset, 'a fresh object per call');
  });

  it('google: access_type=offline with prompt=consent, no rotation, no introspection', () => {
    const preset = google();
    assertWellFormed(preset);
    assert.equal(preset.issuer, 'https://accounts.google.com');
    assert.equal(preset.offlineAccess, 'access_type');
    assert.equal(preset.prompt, 'consent');
    assert.ok(!preset.scope?.includes('offline_access'), 'Google refuses the offline_access scope');
    assert.equal(preset.rotationGracePeriodMs, undefined);
    assert.equal(preset.introspection, 'off');
  });

  it('microsoft: tenant-scoped issuer, 90-day refresh tokens that stay valid after use', () => {
    const preset = microsoft({ tenant: 'common' });
    assertWellFormed(preset);
    assert.equal(preset.issuer, 'https://login.microsoftonline.com/common/v2.0');
    assert.equal(preset.discoveryUrl, undefined, 'default discovery: openid-client accepts the {tenantid} issuer template of multi-tenant authorities');
    assert.equal(preset.offlineAccess, 'scope');
    assert.equal(preset.refreshTokenLifetimeMs, 90 * DAY_MS);
    assert.equal(microsoft({ tenant: 'contoso.onmicrosoft.com' }).issuer, 'https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0');
    const guid = '9188040d-6c67-4c5b-b112-36a304b66dad';
    assert.equal(microsoft({ tenant: guid }).issuer, `https://login.microsoftonline.com/${guid}/v2.0`);
  });

  it('auth0: issuer with a trailing slash, revocation at /oauth/revoke, no reuse interval by default', () => {
    const preset = auth0({ domain: 'Example.us.auth0.com' });
    assertWellFormed(preset);
    assert.equal(preset.issuer, 'https://example.us.auth0.com/');
    assert.equal(preset.metadata?.revocation_endpoint, 'https://example.us.auth0.com/oauth/revoke');
    assert.equal(preset.rotationGracePeriodMs, 0);
    assert.equal(preset.maxGrantLifetimeMs, 30 * DAY_MS);
  });

  it('okta: org authorization server, or a custom one with authorizationServerId; 30 s grace period', () => {
    const org = okta({ domain: 'example.okta.com' });
    assertWellFormed(org);
    assert.equal(org.issuer, 'https://example.okta.com');
    assert.equal(org.refreshTokenLifetimeMs, 90 * DAY_MS);
    assert.equal(org.rotationGracePeriodMs, 30_000);
    assert.equal(org.introspection, 'auto');
    const custom = okta({ domain: 'example.okta.com', authorizationServerId: 'default' });
    assertWellFormed(custom);
    assert.equal(custom.issuer, 'https://example.okta.com/oauth2/default');
    assert.equal(custom.refreshTokenLifetimeMs, undefined, 'set by the custom server’s access policy');
    assert.equal(okta({ domain: 'example.okta.com', authorizationServerId: 'aus1a2b3c4D5e6F7g8' }).issuer, 'https://example.okta.com/oauth2/aus1a2b3c4D5e6F7g8');
  });

  it('keycloak: the realm URL is the issuer; introspection and revocation endpoints of the realm', () => {
    const preset = keycloak({ baseUrl: 'https://sso.example.com/', realm: 'acme' });
    assertWellFormed(preset);
    assert.equal(preset.issuer, 'https://sso.example.com/realms/acme');
    assert.equal(preset.metadata?.introspection_endpoint, 'https://sso.example.com/realms/acme/protocol/openid-connect/token/introspect');
    assert.equal(preset.metadata?.revocation_endpoint, 'https://sso.example.com/realms/acme/protocol/openid-connect/revoke');
    assert.equal(preset.refreshTokenLifetimeMs, 30 * DAY_MS);
    assert.equal(keycloak({ baseUrl: 'http://localhost:8080/auth', realm: 'my-realm' }).issuer, 'http://localhost:8080/auth/realms/my-realm');
    assert.equal(keycloak({ baseUrl: 'https://sso.example.com', realm: 'été' }).issuer, 'https://sso.example.com/realms/%C3%A9t%C3%A9');
  });

  it('github: no discovery, no OpenID, 6-month single-use refresh tokens', () => {
    const preset = github();
    assertWellFormed(preset);
    assert.equal(preset.discovery, false);
    assert.equal(preset.issuer, 'https://github.com', 'no issuer is documented: its origin names the grants');
    assert.equal(preset.metadata?.token_endpoint, 'https://github.com/login/oauth/access_token');
    assert.equal(preset.metadata?.authorization_endpoint, 'https://github.com/login/oauth/authorize');
    assert.equal(preset.openid, false);
    assert.equal(preset.refreshTokenLifetimeMs, 15_897_600_000);
    assert.equal(preset.rotationGracePeriodMs, 0);
    assert.equal(preset.introspection, 'off');
  });

  it('rejects bad arguments with a ConfigurationError naming the argument', () => {
    const cases: Array<[() => unknown, RegExp]> = [
      [() => microsoft(undefined as never), /`microsoft\(\)`.*`tenant`/],
      [() => microsoft({ tenant: '' }), /`tenant`/],
      [() => microsoft({ tenant: 'common/v2.0' }), /`tenant`/],
      [() => microsoft({ tenant: 42 as never }), /`tenant`/],
      [() => auth0({} as never), /`domain`/],
      [() => auth0({ domain: 'https://example.us.auth0.com' }), /`domain`/],
      [() => auth0({ domain: 'example.us.auth0.com/path' }), /`domain`/],
      [() => okta({ domain: 'example.okta.com', authorizationServerId: '' }), /`authorizationServerId`/],
      [() => okta({ domain: 'example.okta.com', authorizationServerId: 'a/b' }), /`authorizationServerId`/],
      [() => okta({ domain: 'https://example.okta.com' }), /`domain`/],
      [() => keycloak({ baseUrl: 'sso.example.com', realm: 'acme' }), /`baseUrl`/],
      [() => keycloak({ baseUrl: 'ftp://sso.example.com', realm: 'acme' }), /`baseUrl`/],
      [() => keycloak({ baseUrl: 'https://sso.example.com?x=1', realm: 'acme' }), /`baseUrl`/],
      [() => keycloak({ baseUrl: 'https://sso.example.com', realm: '' }), /`realm`/],
      [() => keycloak({ baseUrl: 'https://sso.example.com', realm: 'a/b' }), /`realm`/],
      [() => keycloak(null as never), /`keycloak\(\)`/],
    ];
    for (const [call, message] of cases) assert.throws(call, (error: unknown) => error instanceof ConfigurationError && message.test(error.message));
  });
});

describe('presets are createTokenManager options', () => {
  const all: ProviderPreset[] = [
    transmit(), google(), microsoft({ tenant: 'common' }), auth0({ domain: 'example.us.auth0.com' }),
    okta({ domain: 'example.okta.com' }), keycloak({ baseUrl: 'https://sso.example.com', realm: 'acme' }), github(),
  ];
  it('each one, with a client, is accepted without a request (the store is the only thing opened)', async () => {
    for (const preset of all) {
      // Type-level: a preset spreads into the options.
      const options: TokenManagerOptions = { ...preset, clientId: 'c', clientSecret: 's', redirectUri: 'https://app.example/cb', store: new Keyv() };
      const tokens = await createTokenManager(options);
      await tokens.close();
    }
  });
});
