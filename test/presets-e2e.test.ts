/**
 * Each provider preset against a local fake that behaves as the preset's cited documentation says: the preset is
 * spread into the options, and only what must point at the fake is overridden (the issuer, with the path shape the
 * preset builds; absolute URLs in `metadata`/`discoveryUrl`, rewritten to the fake's origin keeping their path;
 * the client; the store). Each test runs a real consent and at least two refreshes on an injected clock.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Keyv from 'keyv';
import { ReauthRequiredError, createTokenManager, type TokenManager, type TokenManagerOptions } from 'offline-tokens';
import { auth0, keycloak, microsoft, okta, transmit, type ProviderPreset } from 'offline-tokens/providers';
import {
  startAuth0Fake, startKeycloakFake, startMicrosoftFake, startOktaFake, startTransmitFake, OKTA_GRACE_PERIOD_MS, type FakeProvider,
} from './support/fake-providers.ts';
import { createClock, rejection, type TestClock } from './support/harness.ts';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const TENANT = '9188040d-6c67-4c5b-b112-36a304b66dad';

/** `url` with the fake's origin instead of the provider's (the path kept). */
function onFake(url: string, fake: FakeProvider): string {
  const target = new URL(url);
  const origin = new URL(fake.issuer);
  target.protocol = origin.protocol;
  target.host = origin.host;
  return target.href;
}

/** The preset's options, pointed at the fake: only issuer, absolute URLs, client, transport and store change. */
function presetOptions(preset: ProviderPreset, fake: FakeProvider, clock: TestClock, store: Keyv, extra: Partial<TokenManagerOptions> = {}): TokenManagerOptions {
  const metadata = preset.metadata === undefined
    ? undefined
    : Object.fromEntries(Object.entries(preset.metadata).map(([name, value]) => [name, typeof value === 'string' && /^https:\/\//.test(value) ? onFake(value, fake) : value]));
  return {
    ...preset,
    issuer: fake.issuer,
    ...(metadata === undefined ? {} : { metadata }),
    ...(preset.discoveryUrl === undefined ? {} : { discoveryUrl: onFake(preset.discoveryUrl, fake) }),
    clientId: fake.client.clientId,
    clientSecret: fake.client.clientSecret,
    redirectUri: fake.redirectUri,
    allowInsecureRequests: true,
    store,
    namespace: 'p',
    retryMinDelayMs: 10,
    now: clock.now,
    ...extra,
  } as TokenManagerOptions;
}

async function connect(tokens: TokenManager, fake: FakeProvider, key: string): Promise<URL> {
  const { url, state } = await tokens.startAuthorization({ key });
  await tokens.completeAuthorization(await fake.consent(url), { state });
  return url;
}

async function storedRefreshToken(store: Keyv, key: string): Promise<string> {
  return (JSON.parse((await store.get(`p:grant:${key}`)) as string) as { refreshToken: string }).refreshToken;
}

/** Presents a refresh token at the fake's token endpoint directly (client_secret_post); the HTTP status. */
async function presentRefreshToken(fake: FakeProvider, refreshToken: string): Promise<number> {
  const response = await fetch(fake.endpoints.token, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: fake.client.clientId, client_secret: fake.client.clientSecret }),
  });
  await response.body?.cancel();
  return response.status;
}

const scopesOf = (url: URL): string[] => (url.searchParams.get('scope') ?? '').split(' ');

describe('transmit(): offline_access + prompt=consent, rotation on every use, no revocation endpoint', () => {
  let fake: FakeProvider;
  const clock = createClock();
  before(async () => {
    fake = await startTransmitFake({ now: clock.now });
  });
  after(() => fake.close());

  it('consents with offline_access and prompt=consent, rotates on every refresh with no reuse, revoke() is local only', async () => {
    assert.equal(new URL(fake.issuer).pathname, new URL(transmit().issuer).pathname, 'same issuer path shape (/cis)');
    const store = new Keyv();
    const tokens = await createTokenManager(presetOptions(transmit(), fake, clock, store));
    try {
      const url = await connect(tokens, fake, 'tia');
      assert.ok(scopesOf(url).includes('offline_access'));
      assert.equal(url.searchParams.get('prompt'), 'consent');
      const seen = new Set([await storedRefreshToken(store, 'tia')]);
      for (let round = 0; round < 3; round++) {
        clock.advance(HOUR_MS);
        assert.ok(fake.issuedTokens.has(await tokens.getAccessToken('tia')));
        seen.add(await storedRefreshToken(store, 'tia'));
      }
      assert.equal(seen.size, 4, 'a new refresh token on every use');
      assert.equal(fake.counters.refreshSuccesses, 3);
      assert.equal(fake.counters.reusedRefreshTokens, 0);
      assert.equal(fake.counters.graceReuses, 0);
      assert.deepEqual(fake.counters.clientAuthMethods, { client_secret_post: 4 });
      const info = await tokens.getGrant('tia');
      assert.equal(info?.rotations, 3);
      assert.ok(info !== undefined && info.refreshExpiresAt <= clock.now() + 14 * DAY_MS, 'a refresh token lives 2 weeks');
      assert.deepEqual(await tokens.revoke('tia'), { revokedAtServer: false });
      assert.equal(fake.counters.revocations, 0);
    } finally {
      await tokens.close();
    }
  });
});

describe('microsoft({ tenant }): offline_access, refresh tokens that replace themselves without revoking the old one', () => {
  let fake: FakeProvider;
  const clock = createClock();
  before(async () => {
    fake = await startMicrosoftFake({ tenant: TENANT, now: clock.now });
  });
  after(() => fake.close());

  it('consents with offline_access, refreshes twice on a new token each time while the old one stays valid; no revocation endpoint', async () => {
    const preset = microsoft({ tenant: TENANT });
    assert.equal(new URL(fake.issuer).pathname, `/${TENANT}/v2.0`);
    assert.equal(new URL(preset.issuer).pathname, `/${TENANT}/v2.0`);
    const store = new Keyv();
    const tokens = await createTokenManager(presetOptions(preset, fake, clock, store));
    try {
      const url = await connect(tokens, fake, 'mia');
      assert.ok(scopesOf(url).includes('offline_access'));
      const first = await storedRefreshToken(store, 'mia');
      clock.advance(HOUR_MS);
      assert.ok(fake.issuedTokens.has(await tokens.getAccessToken('mia')));
      const second = await storedRefreshToken(store, 'mia');
      clock.advance(HOUR_MS);
      assert.ok(fake.issuedTokens.has(await tokens.getAccessToken('mia')));
      const third = await storedRefreshToken(store, 'mia');
      assert.equal(new Set([first, second, third]).size, 3, 'the manager keeps the refresh token of every answer');
      assert.equal(fake.counters.refreshSuccesses, 2);
      assert.equal(fake.counters.reusedRefreshTokens, 0);
      assert.equal(fake.counters.graceReuses, 0, 'the manager never went back to a replaced token');
      assert.equal(fake.counters.requests['/.well-known/openid-configuration'], 1, 'metadata fetched once, by OpenID Connect Discovery under the tenant issuer');
      // The platform "doesn't revoke old refresh tokens when used": the first one still refreshes, days later.
      clock.advance(30 * DAY_MS);
      assert.equal(await presentRefreshToken(fake, first), 200);
      assert.deepEqual(await tokens.revoke('mia'), { revokedAtServer: false });
      assert.equal(await tokens.getGrant('mia'), undefined);
    } finally {
      await tokens.close();
    }
  });

  it('a lost refresh answer: the old token is still valid (90-day grace in the preset), so it is sent again and works', async () => {
    const store = new Keyv();
    const tokens = await createTokenManager(presetOptions(microsoft({ tenant: TENANT }), fake, clock, store));
    try {
      await connect(tokens, fake, 'lost');
      clock.advance(HOUR_MS);
      const successes = fake.counters.refreshSuccesses;
      fake.faults.push({ kind: 'drop-after' });
      assert.ok(fake.issuedTokens.has(await tokens.getAccessToken('lost')));
      assert.equal(fake.counters.refreshSuccesses, successes + 2);
      assert.equal((await tokens.getGrant('lost'))?.status, 'active');
      clock.advance(HOUR_MS);
      assert.ok(fake.issuedTokens.has(await tokens.getAccessToken('lost')));
    } finally {
      await tokens.close();
    }
  });
});

describe('auth0({ domain }): trailing-slash issuer, offline_access, rotation with reuse detection (no reuse interval), /oauth/revoke', () => {
  let fake: FakeProvider;
  const clock = createClock();
  before(async () => {
    fake = await startAuth0Fake({ now: clock.now });
  });
  after(() => fake.close());

  it('consents with offline_access, rotates on every refresh without a reuse, revokes at /oauth/revoke (from the preset metadata)', async () => {
    const preset = auth0({ domain: 'example.us.auth0.com' });
    assert.ok(preset.issuer.endsWith('/') && fake.issuer.endsWith('/'));
    const store = new Keyv();
    const tokens = await createTokenManager(presetOptions(preset, fake, clock, store));
    try {
      const url = await connect(tokens, fake, 'ada');
      assert.ok(scopesOf(url).includes('offline_access'));
      const seen = new Set([await storedRefreshToken(store, 'ada')]);
      for (let round = 0; round < 2; round++) {
        clock.advance(DAY_MS);
        assert.ok(fake.issuedTokens.has(await tokens.getAccessToken('ada')));
        seen.add(await storedRefreshToken(store, 'ada'));
      }
      assert.equal(seen.size, 3);
      assert.equal(fake.counters.refreshSuccesses, 2);
      assert.equal(fake.counters.reusedRefreshTokens, 0);
      assert.equal(fake.counters.clientAuthMethods.client_secret_basic ?? 0, 0, 'client_secret_post only');
      const info = await tokens.getGrant('ada');
      assert.ok(info !== undefined);
      const refreshToken = await storedRefreshToken(store, 'ada');
      assert.deepEqual(await tokens.revoke('ada'), { revokedAtServer: true });
      assert.equal(fake.counters.revocations, 1);
      assert.equal(fake.refreshTokenState(refreshToken), 'revoked');
    } finally {
      await tokens.close();
    }
  });

  // README, Failure behaviour: without introspection and outside the grace period the SDK retries once; a server
  // that had rotated refuses it (Auth0's reuse detection revokes the family, lost anyway) → rotation_lost.
  it('a lost refresh answer with no reuse interval and no introspection: one documented retry, refused by reuse detection → rotation_lost', async () => {
    const store = new Keyv();
    const tokens = await createTokenManager(presetOptions(auth0({ domain: 'example.us.auth0.com' }), fake, clock, store));
    try {
      await connect(tokens, fake, 'drop');
      clock.advance(DAY_MS);
      assert.ok(fake.issuedTokens.has(await tokens.getAccessToken('drop')));
      clock.advance(DAY_MS);
      const reuses = fake.counters.reusedRefreshTokens;
      const presented = await storedRefreshToken(store, 'drop');
      fake.faults.push({ kind: 'drop-after' });
      const error = await rejection(tokens.getAccessToken('drop'));
      assert.ok(error instanceof ReauthRequiredError && error.reason === 'rotation_lost', String(error));
      assert.equal(fake.counters.reusedRefreshTokens, reuses + 1, 'presented again exactly once');
      assert.equal(fake.refreshTokenState(presented), 'revoked', 'reuse detection revoked the family');
      const requests = fake.counters.refreshRequests;
      await rejection(tokens.getAccessToken('drop'));
      assert.equal(fake.counters.refreshRequests, requests, 'never sent again');
    } finally {
      await tokens.close();
    }
  });

  it('the family lives 30 days at most: past it the grant needs a new consent, nothing sent', async () => {
    const store = new Keyv();
    const tokens = await createTokenManager(presetOptions(auth0({ domain: 'example.us.auth0.com' }), fake, clock, store));
    try {
      await connect(tokens, fake, 'old');
      for (let round = 0; round < 2; round++) {
        clock.advance(10 * DAY_MS);
        assert.ok(fake.issuedTokens.has(await tokens.getAccessToken('old')));
      }
      clock.advance(11 * DAY_MS);
      const requests = fake.counters.refreshRequests;
      const error = await rejection(tokens.getAccessToken('old'));
      assert.ok(error instanceof ReauthRequiredError, String(error));
      assert.equal(fake.counters.refreshRequests, requests);
    } finally {
      await tokens.close();
    }
  });
});

describe('okta({ domain }): offline_access, rotation with a 30 s grace period, introspection and revocation advertised', () => {
  let fake: FakeProvider;
  const clock = createClock();
  before(async () => {
    fake = await startOktaFake({ now: clock.now });
  });
  after(() => fake.close());

  it('consents with offline_access, rotates on every refresh with no reuse, revokes at the server', async () => {
    const store = new Keyv();
    const tokens = await createTokenManager(presetOptions(okta({ domain: 'example.okta.com' }), fake, clock, store));
    try {
      const url = await connect(tokens, fake, 'oli');
      assert.ok(scopesOf(url).includes('offline_access'));
      const seen = new Set([await storedRefreshToken(store, 'oli')]);
      for (let round = 0; round < 2; round++) {
        clock.advance(HOUR_MS);
        assert.ok(fake.issuedTokens.has(await tokens.getAccessToken('oli')));
        seen.add(await storedRefreshToken(store, 'oli'));
      }
      assert.equal(seen.size, 3);
      assert.equal(fake.counters.reusedRefreshTokens, 0);
      assert.equal(fake.counters.graceReuses, 0);
      assert.deepEqual(await tokens.revoke('oli'), { revokedAtServer: true });
      assert.equal(fake.counters.revocations, 1);
    } finally {
      await tokens.close();
    }
  });

  it('a lost refresh answer within the grace period: introspection says the old token is live, it is sent again and accepted, no reuse', async () => {
    const store = new Keyv();
    const tokens = await createTokenManager(presetOptions(okta({ domain: 'example.okta.com' }), fake, clock, store));
    try {
      await connect(tokens, fake, 'grace');
      clock.advance(HOUR_MS);
      assert.ok(fake.issuedTokens.has(await tokens.getAccessToken('grace')));
      clock.advance(HOUR_MS);
      const before = await storedRefreshToken(store, 'grace');
      fake.faults.push({ kind: 'drop-after' });
      assert.ok(fake.issuedTokens.has(await tokens.getAccessToken('grace')));
      assert.equal(fake.counters.graceReuses, 1, 'the rotated token was accepted within the grace period');
      assert.equal(fake.counters.reusedRefreshTokens, 0);
      assert.equal((await tokens.getGrant('grace'))?.status, 'active');
      // Past the grace period the fake refuses the rotated token and revokes the grant, as Okta does.
      clock.advance(OKTA_GRACE_PERIOD_MS);
      assert.equal(await presentRefreshToken(fake, before), 400);
      assert.equal(fake.counters.reusedRefreshTokens, 1);
    } finally {
      await tokens.close();
    }
  });
});

describe('keycloak({ baseUrl, realm }): /realms/<realm> issuer, offline_access, introspection that knows refresh tokens, revocation', () => {
  const realm = 'acme';
  let fake: FakeProvider;
  let strict: FakeProvider;
  const clock = createClock();
  before(async () => {
    [fake, strict] = await Promise.all([
      startKeycloakFake({ realm, now: clock.now }),
      startKeycloakFake({ realm, now: clock.now, revokeRefreshToken: true }),
    ]);
  });
  after(() => Promise.all([fake.close(), strict.close()]));


  it('consents with offline_access, refreshes twice with no reuse (old tokens stay valid by default), revokes at the realm endpoint', async () => {
    const preset = keycloak({ baseUrl: 'https://sso.example.com', realm });
    assert.equal(new URL(fake.issuer).pathname, new URL(preset.issuer).pathname);
    const store = new Keyv();
    const tokens = await createTokenManager(presetOptions(preset, fake, clock, store));
    try {
      const url = await connect(tokens, fake, 'kim');
      assert.ok(scopesOf(url).includes('offline_access'));
      for (let round = 0; round < 2; round++) {
        clock.advance(HOUR_MS);
        assert.ok(fake.issuedTokens.has(await tokens.getAccessToken('kim')));
      }
      assert.equal(fake.counters.refreshSuccesses, 2);
      assert.equal(fake.counters.reusedRefreshTokens, 0);
      assert.equal(fake.counters.graceReuses, 0);
      const info = await tokens.getGrant('kim');
      assert.ok(info !== undefined && info.refreshExpiresAt <= clock.now() + 30 * DAY_MS, 'offline session idle: 30 days');
      assert.deepEqual(await tokens.revoke('kim'), { revokedAtServer: true });
      assert.equal(fake.counters.revocations, 1);
    } finally {
      await tokens.close();
    }
  });

  it('with "Revoke Refresh Token" on, a lost answer: introspection (trusted) says the old token is gone, rotation_lost, no reuse', async () => {
    const store = new Keyv();
    const tokens = await createTokenManager(presetOptions(keycloak({ baseUrl: 'https://sso.example.com', realm }), strict, clock, store));
    try {
      await connect(tokens, strict, 'kai');
      for (let round = 0; round < 2; round++) {
        clock.advance(HOUR_MS);
        assert.ok(strict.issuedTokens.has(await tokens.getAccessToken('kai')));
      }
      clock.advance(HOUR_MS);
      strict.faults.push({ kind: 'drop-after' });
      const error = await rejection(tokens.getAccessToken('kai'));
      assert.ok(error instanceof ReauthRequiredError && error.reason === 'rotation_lost', String(error));
      assert.equal(strict.counters.reusedRefreshTokens, 0);
      assert.ok(strict.counters.introspections >= 1);
    } finally {
      await tokens.close();
    }
  });
});
