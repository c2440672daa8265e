/**
 * The SDK against servers that are not shaped like oidc-provider, each a local fake behaving as the
 * provider documents itself: discovery only at a trailing-slash URL, no discovery at all (GitHub),
 * plain OAuth 2.0, Google-style offline access, introspection that cannot see refresh tokens,
 * revocation that is not advertised; two providers sharing one store; a cold start with the server down.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Keyv from 'keyv';
import { CallbackError, ConfigurationError, ReauthRequiredError, ServerUnavailableError, createTokenManager, type TokenManager, type TokenManagerOptions } from 'offline-tokens';
import { github, google } from 'offline-tokens/providers';
import {
  startGitHubFake, startGoogleFake, startPlainOAuth2Server, startQuirkyOidcServer, QUIRKY_OIDC_PATHS, type FakeProvider,
} from './support/fake-providers.ts';
import { createClock, rejection, withManagerOptions, type TestClock } from './support/harness.ts';

const HOUR_MS = 3_600_000;

/** Options of a manager for the fake's registered client. */
function optionsFor(fake: FakeProvider, clock: TestClock, extra: Partial<TokenManagerOptions> = {}): TokenManagerOptions {
  return {
    issuer: fake.issuer,
    clientId: fake.client.clientId,
    clientSecret: fake.client.clientSecret,
    redirectUri: fake.redirectUri,
    allowInsecureRequests: true,
    store: new Keyv(),
    retryMinDelayMs: 10,
    now: clock.now,
    ...extra,
  };
}

/** A real consent at the fake, through the SDK. */
async function connect(tokens: TokenManager, fake: FakeProvider, key: string): Promise<URL> {
  const { url, state } = await tokens.startAuthorization({ key });
  await tokens.completeAuthorization(await fake.consent(url), { state });
  return url;
}

/** The tokens a fake issued, for telling which server a token came from. */
const issuedBy = (fake: FakeProvider, token: string): boolean => fake.issuedTokens.has(token);

describe('a server whose metadata lives only at the trailing-slash URL, advertising neither revocation nor introspection', () => {
  let quirky: FakeProvider;
  const clock = createClock();
  before(async () => {
    quirky = await startQuirkyOidcServer({ now: clock.now });
  });
  after(() => quirky.close());

  it('default discovery fails with ServerUnavailableError on first need (the 301 is not followed); creating the manager made no request', async () => {
    await withManagerOptions(optionsFor(quirky, clock), async (tokens) => {
      assert.equal(Object.values(quirky.counters.requests).reduce((a, b) => a + b, 0), 0, 'no request at creation');
      const error = await rejection(tokens.startAuthorization({ key: 'nobody' }));
      assert.ok(error instanceof ServerUnavailableError, String(error));
    });
  });

  it('works through discoveryUrl: consent, rotations, and revoke() says the server was not asked', async () => {
    const discoveryUrl = `${quirky.issuer}/.well-known/openid-configuration/`;
    await withManagerOptions(optionsFor(quirky, clock, { discoveryUrl }), async (tokens) => {
      await connect(tokens, quirky, 'alice');
      const first = await tokens.getAccessToken('alice');
      clock.advance(HOUR_MS);
      const second = await tokens.getAccessToken('alice');
      assert.notEqual(first, second);
      assert.ok(issuedBy(quirky, second));
      assert.equal(quirky.counters.refreshSuccesses, 1);
      const stored = await tokens.getGrant('alice');
      const { revokedAtServer } = await tokens.revoke('alice');
      assert.equal(revokedAtServer, false, 'no revocation endpoint is known');
      assert.equal(quirky.counters.revocations, 0);
      assert.equal(stored?.rotations, 1);
    });
  });

  it('with its unadvertised endpoints given in `metadata`: revoke() revokes at the server and says so', async () => {
    const options = optionsFor(quirky, clock, {
      discoveryUrl: `${quirky.issuer}/.well-known/openid-configuration/`,
      metadata: { revocation_endpoint: `${quirky.issuer}${QUIRKY_OIDC_PATHS.revocation}` },
    });
    await withManagerOptions(options, async (tokens) => {
      await connect(tokens, quirky, 'bob');
      const revocationsBefore = quirky.counters.revocations;
      assert.deepEqual(await tokens.revoke('bob'), { revokedAtServer: true });
      assert.equal(quirky.counters.revocations, revocationsBefore + 1);
      assert.equal(await tokens.getGrant('bob'), undefined);
    });
  });

  it('introspection that answers active:false for every refresh token is not trusted: a 502 that never reached the server is retried, no rotation_lost', async () => {
    const store = new Keyv();
    const options = optionsFor(quirky, clock, {
      store,
      namespace: 'quirky',
      discoveryUrl: `${quirky.issuer}/.well-known/openid-configuration/`,
      metadata: { introspection_endpoint: `${quirky.issuer}${QUIRKY_OIDC_PATHS.introspection}` },
    });
    await withManagerOptions(options, async (tokens) => {
      await connect(tokens, quirky, 'carol');
      // The check after the consent: the server said "inactive" for a refresh token just issued.
      const state = JSON.parse((await store.get('quirky:server')) as string) as { introspectsRefreshTokens?: boolean };
      assert.equal(state.introspectsRefreshTokens, false, 'recorded: this server cannot introspect refresh tokens');
      clock.advance(HOUR_MS);
      const successesBefore = quirky.counters.refreshSuccesses;
      quirky.faults.push({ kind: 'respond', status: 502, body: 'Bad Gateway' });
      const token = await tokens.getAccessToken('carol');
      assert.ok(issuedBy(quirky, token));
      assert.equal(quirky.counters.refreshSuccesses, successesBefore + 1);
      assert.equal(quirky.counters.reusedRefreshTokens, 0);
      assert.equal((await tokens.getGrant('carol'))?.status, 'active');
      // A second manager (another process) knows it from the store without asking.
      const introspectionsBefore = quirky.counters.introspections;
      const metadataPath = '/.well-known/openid-configuration/';
      const metadataFetchesBefore = quirky.counters.requests[metadataPath] ?? 0;
      await withManagerOptions(options, async (other) => {
        clock.advance(HOUR_MS);
        quirky.faults.push({ kind: 'respond', status: 502, body: 'Bad Gateway' });
        assert.ok(issuedBy(quirky, await other.getAccessToken('carol')));
        assert.equal(quirky.counters.introspections, introspectionsBefore);
        assert.equal(quirky.counters.requests[metadataPath] ?? 0, metadataFetchesBefore, 'the metadata cached in the store was used');
      });
    });
  });
});

describe('GitHub (no discovery, no ID token, errors answered with HTTP 200), through the github preset', () => {
  let gh: FakeProvider;
  const clock = createClock();
  before(async () => {
    gh = await startGitHubFake({ now: clock.now });
  });
  after(() => gh.close());

  function githubOptions(extra: Partial<TokenManagerOptions> = {}): TokenManagerOptions {
    return optionsFor(gh, clock, {
      ...github(),
      issuer: gh.issuer,
      metadata: { authorization_endpoint: gh.endpoints.authorization, token_endpoint: gh.endpoints.token },
      ...extra,
    });
  }

  it('full flow: consent without openid, rotations every 8 hours, the token works at /user, no refresh token presented twice', async () => {
    await withManagerOptions(githubOptions(), async (tokens) => {
      const url = await connect(tokens, gh, 'dev');
      assert.equal(url.searchParams.get('prompt'), null);
      assert.equal(url.searchParams.get('nonce'), null);
      assert.doesNotMatch(url.searchParams.get('scope') ?? '', /openid|offline_access/);
      for (let round = 0; round < 3; round++) {
        clock.advance(8 * HOUR_MS);
        const token = await tokens.getAccessToken('dev');
        const user = await fetch(gh.endpoints.userinfo!, { headers: { authorization: `Bearer ${token}` } });
        assert.equal(user.status, 200);
        await user.body?.cancel();
      }
      assert.equal(gh.counters.refreshSuccesses, 3);
      assert.equal(gh.counters.reusedRefreshTokens, 0);
      const info = await tokens.getGrant('dev');
      assert.equal(info?.rotations, 3);
      assert.ok(info !== undefined && info.refreshExpiresAt > clock.now() + 150 * 24 * HOUR_MS, 'refresh_token_expires_in was read');
    });
  });

  it('a refresh token GitHub refuses with HTTP 200 + bad_refresh_token is a dead grant (ReauthRequiredError), asked once', async () => {
    await withManagerOptions(githubOptions(), async (tokens) => {
      await connect(tokens, gh, 'gone');
      gh.revokeAllGrants();
      clock.advance(8 * HOUR_MS);
      const requestsBefore = gh.counters.refreshRequests;
      const error = await rejection(tokens.getAccessToken('gone'));
      assert.ok(error instanceof ReauthRequiredError, String(error));
      assert.equal(error.reason, 'invalid_grant');
      await rejection(tokens.getAccessToken('gone'));
      assert.equal(gh.counters.refreshRequests, requestsBefore + 1, 'never asked again');
    });
  });
});

describe('Google-style offline access, through the google preset', () => {
  let g: FakeProvider;
  const clock = createClock();
  before(async () => {
    g = await startGoogleFake({ now: clock.now });
  });
  after(() => g.close());

  it('asks with access_type=offline + prompt=consent (never offline_access), refreshes without rotation, revokes', async () => {
    const store = new Keyv();
    const storedRefreshToken = async (): Promise<string> => (JSON.parse((await store.get('g:grant:gina')) as string) as { refreshToken: string }).refreshToken;
    await withManagerOptions(optionsFor(g, clock, { ...google(), issuer: g.issuer, store, namespace: 'g' }), async (tokens) => {
      const url = await connect(tokens, g, 'gina');
      const refreshToken = await storedRefreshToken();
      assert.equal(url.searchParams.get('access_type'), 'offline');
      assert.equal(url.searchParams.get('prompt'), 'consent');
      assert.doesNotMatch(url.searchParams.get('scope') ?? '', /offline_access/);
      const tokensSeen = new Set<string>();
      for (let round = 0; round < 3; round++) {
        clock.advance(HOUR_MS);
        tokensSeen.add(await tokens.getAccessToken('gina'));
      }
      assert.equal(tokensSeen.size, 3);
      assert.equal(g.counters.refreshSuccesses, 3);
      assert.equal(await storedRefreshToken(), refreshToken, 'Google refresh tokens do not rotate: the one from the consent is kept');
      assert.equal(g.refreshTokenState(refreshToken), 'active');
      assert.deepEqual(await tokens.revoke('gina'), { revokedAtServer: true });
    });
  });

  it('the default offlineAccess (the offline_access scope) is refused by Google: the callback reports invalid_scope', async () => {
    await withManagerOptions(optionsFor(g, clock), async (tokens) => {
      const { url, state } = await tokens.startAuthorization({ key: 'refused' });
      const error = await rejection(tokens.completeAuthorization(await g.consent(url), { state }));
      assert.ok(error instanceof CallbackError, String(error));
      assert.equal(error.reason, 'authorization_error');
      assert.equal(error.error, 'invalid_scope');
    });
  });
});

describe('plain OAuth 2.0 (RFC 8414 metadata, no ID token), and two providers sharing one store', () => {
  let plain: FakeProvider;
  let quirky: FakeProvider;
  const clock = createClock();
  before(async () => {
    [plain, quirky] = await Promise.all([startPlainOAuth2Server({ now: clock.now }), startQuirkyOidcServer({ now: clock.now })]);
  });
  after(() => Promise.all([plain.close(), quirky.close()]));

  it("discovery 'oauth2' + openid: false: full flow with rotation; its introspection knows refresh tokens and is trusted after a lost answer", async () => {
    await withManagerOptions(optionsFor(plain, clock, { discovery: 'oauth2', openid: false, offlineAccess: 'none' }), async (tokens) => {
      const url = await connect(tokens, plain, 'pat');
      assert.doesNotMatch(url.searchParams.get('scope') ?? '', /openid/);
      clock.advance(HOUR_MS);
      assert.ok(issuedBy(plain, await tokens.getAccessToken('pat')));
      // The answer of a processed refresh is lost: introspection (trusted) says the token was rotated.
      clock.advance(HOUR_MS);
      plain.faults.push({ kind: 'drop-after' });
      const error = await rejection(tokens.getAccessToken('pat'));
      assert.ok(error instanceof ReauthRequiredError && error.reason === 'rotation_lost', String(error));
      assert.equal(plain.counters.reusedRefreshTokens, 0, 'the rotated-away token was not presented again');
    });
  });

  it('two providers, one store, one user key: each manager keeps its own grant and sends only its own tokens', async () => {
    const store = new Keyv();
    await withManagerOptions(optionsFor(plain, clock, { store, discovery: 'oauth2', openid: false, offlineAccess: 'none' }), async (a) => {
      await withManagerOptions(optionsFor(quirky, clock, { store, discoveryUrl: `${quirky.issuer}/.well-known/openid-configuration/` }), async (b) => {
        await connect(a, plain, 'same-user');
        await connect(b, quirky, 'same-user');
        for (let round = 0; round < 2; round++) {
          clock.advance(HOUR_MS);
          assert.ok(issuedBy(plain, await a.getAccessToken('same-user')));
          assert.ok(issuedBy(quirky, await b.getAccessToken('same-user')));
        }
        for (const fake of [plain, quirky]) {
          assert.deepEqual(fake.counters.refreshErrors, {}, 'no foreign refresh token was presented');
          assert.equal(fake.counters.reusedRefreshTokens, 0);
        }
        // A re-consent at B leaves A's grant alone.
        const before = await a.getGrant('same-user');
        await connect(b, quirky, 'same-user');
        assert.deepEqual(await a.getGrant('same-user'), before);
      });
    });
  });

  it("in one shared namespace (namespace: ''), a record of another provider is never used: RecordError, nothing sent", async () => {
    const store = new Keyv();
    await withManagerOptions(optionsFor(plain, clock, { store, namespace: '', discovery: 'oauth2', openid: false, offlineAccess: 'none' }), async (a) => {
      await withManagerOptions(optionsFor(quirky, clock, { store, namespace: '', discoveryUrl: `${quirky.issuer}/.well-known/openid-configuration/` }), async (b) => {
        await connect(a, plain, 'shared');
        const requestsBefore = quirky.counters.refreshRequests;
        const error = await rejection(b.getAccessToken('shared', { forceRefresh: true }));
        assert.equal((error as { code?: string }).code, 'ERR_BAD_RECORD', String(error));
        assert.equal(quirky.counters.refreshRequests, requestsBefore, "provider A's refresh token never reached provider B");
      });
    });
  });

  it('a worker started while the server is down serves a stored, valid access token with 0 requests', async () => {
    const store = new Keyv();
    const options = optionsFor(plain, clock, { store, discovery: 'oauth2', openid: false, offlineAccess: 'none' });
    const token = await withManagerOptions(options, async (first) => {
      await connect(first, plain, 'cold');
      return first.getAccessToken('cold');
    });
    const total = (): number => Object.values(plain.counters.requests).reduce((x, y) => x + y, 0);
    const requestsBefore = total();
    // The same configuration, its server unreachable: the stored token is served without asking.
    await withManagerOptions({ ...options, fetch: async () => { throw new TypeError('fetch failed'); } }, async (down) => {
      assert.equal(await down.getAccessToken('cold'), token);
      assert.equal(total(), requestsBefore, '0 requests to the authorization server');
    });
  });
});

describe('options', () => {
  it('an unknown option is refused with its name', async () => {
    const clock = createClock();
    for (const name of ['tokenEndpoint', 'endpoints']) {
      const error = await rejection(createTokenManager({ ...optionsFor({ issuer: 'https://idp.example', client: { clientId: 'c', clientSecret: 's' }, redirectUri: 'https://app.example/cb' } as FakeProvider, clock), [name]: 'x' } as TokenManagerOptions));
      assert.ok(error instanceof ConfigurationError, String(error));
      assert.match(error.message, new RegExp(`\`${name}\``));
    }
  });
});
