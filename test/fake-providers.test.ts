/**
 * The fake providers, exercised directly over HTTP (not through the SDK): consent with PKCE, code
 * exchange, refreshes, reuse detection, discovery and each provider's documented quirks.
 */
import assert from 'node:assert/strict';
import { createHash, createPublicKey, randomBytes, verify } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  startGitHubFake, startGoogleFake, startPlainOAuth2Server, startQuirkyOidcServer, QUIRKY_OIDC_PATHS, type FakeProvider,
} from './support/fake-providers.ts';

type Body = Record<string, unknown>;
interface TokenAnswer { status: number; contentType: string; body: Body }

function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

function authorizationUrl(fake: FakeProvider, challenge: string | undefined, params: Record<string, string> = {}): URL {
  const url = new URL(fake.endpoints.authorization);
  url.search = new URLSearchParams({ client_id: fake.client.clientId, redirect_uri: fake.redirectUri, response_type: 'code', state: 'state-1', ...params }).toString();
  if (challenge !== undefined) {
    url.searchParams.set('code_challenge', challenge);
    url.searchParams.set('code_challenge_method', 'S256');
  }
  return url;
}

async function tokenRequest(
  fake: FakeProvider,
  params: Record<string, string>,
  { auth = 'post', accept = 'application/json' }: { auth?: 'post' | 'basic'; accept?: string | null } = {},
): Promise<TokenAnswer> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (accept !== null) headers.accept = accept;
  const form = new URLSearchParams(params);
  if (auth === 'basic') {
    const credentials = `${encodeURIComponent(fake.client.clientId)}:${encodeURIComponent(fake.client.clientSecret)}`;
    headers.authorization = `Basic ${Buffer.from(credentials).toString('base64')}`;
  } else {
    form.set('client_id', fake.client.clientId);
    form.set('client_secret', fake.client.clientSecret);
  }
  const response = await fetch(fake.endpoints.token, { method: 'POST', headers, body: form });
  const contentType = response.headers.get('content-type') ?? '';
  const text = await response.text();
  const body = contentType.includes('application/json') ? (JSON.parse(text) as Body) : Object.fromEntries(new URLSearchParams(text));
  return { status: response.status, contentType, body };
}

/** Consent (approving) and code exchange in one go. */
async function connect(fake: FakeProvider, params: Record<string, string>, exchange: { auth?: 'post' | 'basic'; accept?: string | null } = {}): Promise<TokenAnswer> {
  const { verifier, challenge } = pkce();
  const callback = await fake.consent(authorizationUrl(fake, challenge, params));
  assert.equal(callback.searchParams.get('state'), 'state-1');
  const code = callback.searchParams.get('code');
  assert.ok(code !== null, `no code in the callback: error=${callback.searchParams.get('error')}`);
  return tokenRequest(fake, { grant_type: 'authorization_code', code, redirect_uri: fake.redirectUri, code_verifier: verifier }, exchange);
}

const refresh = (fake: FakeProvider, refreshToken: unknown, options?: { auth?: 'post' | 'basic'; accept?: string | null }): Promise<TokenAnswer> =>
  tokenRequest(fake, { grant_type: 'refresh_token', refresh_token: String(refreshToken) }, options);

async function resourceStatus(fake: FakeProvider, accessToken: unknown): Promise<number> {
  const response = await fetch(fake.endpoints.userinfo!, { headers: { authorization: `Bearer ${String(accessToken)}` } });
  await response.body?.cancel();
  return response.status;
}

async function introspect(fake: FakeProvider, url: string, token: unknown): Promise<Body> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: String(token), client_id: fake.client.clientId, client_secret: fake.client.clientSecret }),
  });
  return (await response.json()) as Body;
}

async function revoke(fake: FakeProvider, url: string, token: unknown): Promise<number> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: String(token), client_id: fake.client.clientId, client_secret: fake.client.clientSecret }),
  });
  await response.body?.cancel();
  return response.status;
}

async function getStatus(url: string): Promise<{ status: number; location: string | null; body: string }> {
  const response = await fetch(url, { redirect: 'manual' });
  return { status: response.status, location: response.headers.get('location'), body: await response.text() };
}

/** Verifies an RS256 ID token against the fake's JWKS and returns its claims. */
async function verifiedClaims(fake: FakeProvider, idToken: unknown): Promise<Body> {
  const [header, payload, signature] = String(idToken).split('.') as [string, string, string];
  const { keys } = (await (await fetch(fake.endpoints.jwks!)).json()) as { keys: Array<Record<string, unknown>> };
  const { kid, alg } = JSON.parse(Buffer.from(header, 'base64url').toString()) as { kid: string; alg: string };
  assert.equal(alg, 'RS256');
  const jwk = keys.find((candidate) => candidate.kid === kid);
  assert.ok(jwk, 'the signing key is published at jwks_uri');
  const key = createPublicKey({ key: jwk as never, format: 'jwk' });
  assert.ok(verify('sha256', Buffer.from(`${header}.${payload}`), key, Buffer.from(signature, 'base64url')), 'valid RS256 signature');
  return JSON.parse(Buffer.from(payload, 'base64url').toString()) as Body;
}

describe('Google fake', () => {
  let google: FakeProvider;
  before(async () => {
    google = await startGoogleFake({ accessTokenTtlS: 60 });
  });
  after(() => google.close());

  it('serves OIDC discovery with revocation at /revoke and no introspection endpoint', async () => {
    const metadata = (await (await fetch(`${google.issuer}/.well-known/openid-configuration`)).json()) as Body;
    assert.equal(metadata.issuer, google.issuer);
    assert.equal(metadata.authorization_endpoint, google.endpoints.authorization);
    assert.equal(metadata.token_endpoint, google.endpoints.token);
    assert.equal(metadata.revocation_endpoint, `${google.issuer}/revoke`);
    assert.equal(metadata.jwks_uri, google.endpoints.jwks);
    assert.equal(typeof metadata.userinfo_endpoint, 'string');
    assert.equal(metadata.introspection_endpoint, undefined);
    assert.equal((await getStatus(`${google.issuer}/.well-known/oauth-authorization-server`)).status, 404);
  });

  it('refuses the offline_access scope with invalid_scope at the redirect URI', async () => {
    const callback = await google.consent(authorizationUrl(google, pkce().challenge, { scope: 'openid offline_access', access_type: 'offline', prompt: 'consent' }));
    assert.equal(callback.searchParams.get('error'), 'invalid_scope');
    assert.equal(callback.searchParams.get('state'), 'state-1');
    assert.equal(callback.searchParams.get('iss'), google.issuer);
    assert.equal(callback.searchParams.get('code'), null);
  });

  it('issues a refresh token for access_type=offline with prompt=consent, then refreshes without rotating', async () => {
    google.resetCounters();
    const first = await connect(google, { scope: 'openid email', access_type: 'offline', prompt: 'consent', nonce: 'nonce-1' }, { auth: 'basic' });
    assert.equal(first.status, 200);
    assert.equal(first.body.expires_in, 60);
    assert.equal(first.body.token_type, 'Bearer');
    assert.equal(typeof first.body.refresh_token, 'string');
    const claims = await verifiedClaims(google, first.body.id_token);
    assert.equal(claims.iss, google.issuer);
    assert.equal(claims.aud, google.client.clientId);
    assert.equal(claims.nonce, 'nonce-1');
    assert.equal(typeof claims.sub, 'string');
    assert.ok(typeof claims.iat === 'number' && typeof claims.exp === 'number' && claims.exp > claims.iat);
    for (const secret of [first.body.access_token, first.body.refresh_token, first.body.id_token]) assert.ok(google.issuedTokens.has(String(secret)));

    const second = await refresh(google, first.body.refresh_token);
    const third = await refresh(google, first.body.refresh_token, { auth: 'basic' });
    for (const answer of [second, third]) {
      assert.equal(answer.status, 200);
      assert.equal(answer.body.refresh_token, undefined, 'Google refresh tokens do not rotate');
      assert.equal(typeof answer.body.access_token, 'string');
    }
    assert.equal(await resourceStatus(google, third.body.access_token), 200);
    assert.equal(google.refreshTokenState(String(first.body.refresh_token)), 'active');
    assert.deepEqual(
      [google.counters.codeExchanges, google.counters.refreshRequests, google.counters.refreshSuccesses, google.counters.reusedRefreshTokens],
      [1, 2, 2, 0],
    );
    assert.deepEqual(google.counters.clientAuthMethods, { client_secret_basic: 2, client_secret_post: 1 });

    assert.equal(await revoke(google, `${google.issuer}/revoke`, first.body.refresh_token), 200);
    assert.equal(google.counters.revocations, 1);
    const revoked = await refresh(google, first.body.refresh_token);
    assert.equal(revoked.status, 400);
    assert.equal(revoked.body.error, 'invalid_grant');
    assert.equal(await resourceStatus(google, third.body.access_token), 401, 'revocation ends the grant');
    assert.equal((await refresh(google, 'unknown-refresh-token-0123456789')).body.error, 'invalid_grant');
    assert.deepEqual(google.counters.refreshErrors, { invalid_grant: 2 });
  });

  it('gives a returning user no refresh token without prompt=consent, and none at all without access_type=offline', async () => {
    const withoutPrompt = await connect(google, { scope: 'openid', access_type: 'offline' });
    assert.equal(withoutPrompt.status, 200);
    assert.equal(withoutPrompt.body.refresh_token, undefined);
    const online = await connect(google, { scope: 'openid', prompt: 'consent' });
    assert.equal(online.body.refresh_token, undefined);
  });

  it('gives a refresh token on a first consent with access_type=offline alone', async () => {
    const newcomer = await startGoogleFake({ alreadyConsented: false });
    try {
      const first = await connect(newcomer, { scope: 'email', access_type: 'offline' });
      assert.equal(typeof first.body.refresh_token, 'string');
      assert.equal(first.body.expires_in, 3599);
      assert.equal(first.body.id_token, undefined, 'no ID token without openid');
      const again = await connect(newcomer, { scope: 'email', access_type: 'offline' });
      assert.equal(again.body.refresh_token, undefined);
    } finally {
      await newcomer.close();
    }
  });

  it('checks the PKCE verifier, the client and the redirect URI, and takes a code once', async () => {
    const { verifier, challenge } = pkce();
    const codeOf = async (): Promise<string> => (await google.consent(authorizationUrl(google, challenge, { scope: 'openid' }))).searchParams.get('code')!;
    const exchange = (code: string, extra: Record<string, string> = {}): Promise<TokenAnswer> =>
      tokenRequest(google, { grant_type: 'authorization_code', code, redirect_uri: google.redirectUri, code_verifier: verifier, ...extra });
    assert.equal((await exchange(await codeOf(), { code_verifier: pkce().verifier })).body.error, 'invalid_grant');
    assert.equal((await exchange(await codeOf(), { redirect_uri: 'http://127.0.0.1:1/elsewhere' })).body.error, 'invalid_grant');
    const code = await codeOf();
    const badClient = await tokenRequest(google, { grant_type: 'authorization_code', code, redirect_uri: google.redirectUri, code_verifier: verifier, client_secret: google.client.clientSecret }, { auth: 'basic' });
    assert.equal(badClient.body.error, 'invalid_request', 'Basic and client_secret in the body at once');
    const wrongSecret = await fetch(google.endpoints.token, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'authorization_code', code, client_id: google.client.clientId, client_secret: 'wrong-secret' }),
    });
    assert.equal(wrongSecret.status, 401);
    assert.equal(((await wrongSecret.json()) as Body).error, 'invalid_client');
    const fresh = await codeOf();
    assert.equal((await exchange(fresh)).status, 200);
    assert.equal((await exchange(fresh)).body.error, 'invalid_grant', 'a code is single-use');
    const denied = await google.consent(authorizationUrl(google, challenge, { scope: 'openid' }), { deny: true });
    assert.equal(denied.searchParams.get('error'), 'access_denied');
  });

  it('applies token endpoint faults without processing the request', async () => {
    const { body } = await connect(google, { scope: 'openid', access_type: 'offline', prompt: 'consent' });
    google.resetCounters();
    google.faults.push({ kind: 'respond', status: 503, headers: { 'retry-after': '1' } }, { kind: 'drop-before' });
    const unavailable = await refresh(google, body.refresh_token);
    assert.equal(unavailable.status, 503);
    assert.equal(unavailable.body.error, 'temporarily_unavailable');
    await assert.rejects(refresh(google, body.refresh_token), TypeError);
    assert.equal(google.counters.refreshRequests, 0);
    assert.equal(google.counters.requests['/token'], 2);
    assert.equal((await refresh(google, body.refresh_token)).status, 200);
  });
});

describe('GitHub fake', () => {
  let clock = 1_800_000_000_000;
  let github: FakeProvider;
  before(async () => {
    github = await startGitHubFake({ now: () => clock });
  });
  after(() => github.close());

  it('has no discovery document and no revocation endpoint', async () => {
    assert.equal((await getStatus(`${github.issuer}/.well-known/openid-configuration`)).status, 404);
    assert.equal((await getStatus(`${github.issuer}/.well-known/oauth-authorization-server`)).status, 404);
    assert.equal(github.endpoints.revocation, undefined);
    assert.equal(github.endpoints.introspection, undefined);
  });

  it('answers form-encoded by default and JSON with Accept: application/json; every refresh rotates', async () => {
    github.resetCounters();
    const callbackUrl = authorizationUrl(github, undefined, { scope: 'openid' });
    callbackUrl.searchParams.delete('response_type');
    const callback = await github.consent(callbackUrl);
    assert.equal(callback.searchParams.get('iss'), null);
    const code = callback.searchParams.get('code')!;
    // GitHub's code exchange carries no grant_type.
    const first = await tokenRequest(github, { code, redirect_uri: github.redirectUri }, { accept: null });
    assert.equal(first.status, 200);
    assert.match(first.contentType, /^application\/x-www-form-urlencoded/);
    assert.equal(first.body.expires_in, '28800');
    assert.equal(first.body.refresh_token_expires_in, '15897600');
    assert.equal(first.body.token_type, 'bearer');
    assert.equal(first.body.scope, '');
    assert.equal(first.body.id_token, undefined, 'no ID token, whatever the scope');
    assert.match(String(first.body.access_token), /^ghu_/);
    assert.match(String(first.body.refresh_token), /^ghr_/);
    assert.equal(await resourceStatus(github, first.body.access_token), 200);

    const second = await refresh(github, first.body.refresh_token, { accept: 'application/json' });
    assert.match(second.contentType, /^application\/json/);
    assert.equal(second.body.expires_in, 28800);
    assert.equal(second.body.refresh_token_expires_in, 15897600);
    assert.ok(second.body.refresh_token !== first.body.refresh_token);
    assert.equal(await resourceStatus(github, first.body.access_token), 401, 'the old user token dies');
    assert.equal(github.refreshTokenState(String(first.body.refresh_token)), 'consumed');
    const third = await refresh(github, second.body.refresh_token, { auth: 'basic' });
    assert.equal(third.status, 200);
    assert.equal(await resourceStatus(github, third.body.access_token), 200);

    const reused = await refresh(github, first.body.refresh_token);
    assert.equal(reused.status, 200, 'GitHub reports token endpoint errors with HTTP 200');
    assert.equal(reused.body.error, 'bad_refresh_token');
    assert.deepEqual(
      [github.counters.codeExchanges, github.counters.refreshRequests, github.counters.refreshSuccesses, github.counters.reusedRefreshTokens],
      [1, 3, 2, 1],
    );
    assert.deepEqual(github.counters.refreshErrors, { bad_refresh_token: 1 });
  });

  it('reports errors form-encoded unless asked for JSON', async () => {
    const form = await tokenRequest(github, { code: 'no-such-code', redirect_uri: github.redirectUri }, { accept: null });
    assert.equal(form.status, 200);
    assert.match(form.contentType, /^application\/x-www-form-urlencoded/);
    assert.equal(form.body.error, 'bad_verification_code');
    const json = await tokenRequest(github, { grant_type: 'refresh_token', refresh_token: 'ghr_unknown' }, { auth: 'post', accept: 'application/json' });
    assert.equal(json.body.error, 'bad_refresh_token');
  });

  it('expires user tokens after 8 hours and refresh tokens after 6 months (injected clock)', async () => {
    const { body } = await connect(github, {});
    clock += 28_800 * 1000;
    assert.equal(await resourceStatus(github, body.access_token), 401);
    assert.equal(github.accessTokenState(String(body.access_token)), 'expired');
    const renewed = await refresh(github, body.refresh_token);
    assert.equal(typeof renewed.body.access_token, 'string');
    clock += 15_897_600 * 1000;
    assert.equal((await refresh(github, renewed.body.refresh_token)).body.error, 'bad_refresh_token');
  });
});

describe('quirky OIDC server', () => {
  let quirky: FakeProvider;
  before(async () => {
    quirky = await startQuirkyOidcServer();
  });
  after(() => quirky.close());

  it('serves metadata only with a trailing slash, without revocation or introspection', async () => {
    const slashless = await getStatus(`${quirky.issuer}/.well-known/openid-configuration`);
    assert.equal(slashless.status, 301);
    assert.equal(slashless.location, `${quirky.issuer}/.well-known/openid-configuration/`);
    const metadata = JSON.parse((await getStatus(`${quirky.issuer}/.well-known/openid-configuration/`)).body) as Body;
    assert.equal(metadata.issuer, quirky.issuer);
    assert.equal(metadata.revocation_endpoint, undefined);
    assert.equal(metadata.introspection_endpoint, undefined);
    assert.equal(quirky.endpoints.revocation, `${quirky.issuer}${QUIRKY_OIDC_PATHS.revocation}`);
    assert.equal(quirky.endpoints.introspection, `${quirky.issuer}${QUIRKY_OIDC_PATHS.introspection}`);
  });

  it('requires PKCE and gives a refresh token only for offline_access', async () => {
    const noPkce = await quirky.consent(authorizationUrl(quirky, undefined, { scope: 'openid offline_access' }));
    assert.equal(noPkce.searchParams.get('error'), 'invalid_request');
    const online = await connect(quirky, { scope: 'openid' });
    assert.equal(online.body.refresh_token, undefined);
    assert.equal(typeof online.body.id_token, 'string');
  });

  it('rotates on every use, kills the previous access token at once, and revokes the grant on reuse', async () => {
    quirky.resetCounters();
    const first = await connect(quirky, { scope: 'openid offline_access', nonce: 'n-2' }, { auth: 'basic' });
    assert.equal((await verifiedClaims(quirky, first.body.id_token)).nonce, 'n-2');
    const introspection = quirky.endpoints.introspection!;
    assert.equal((await introspect(quirky, introspection, first.body.access_token)).active, true);
    assert.deepEqual(await introspect(quirky, introspection, first.body.refresh_token), { active: false }, 'refresh tokens are unknown to introspection');

    const second = await refresh(quirky, first.body.refresh_token, { auth: 'basic' });
    assert.equal(second.status, 200);
    assert.equal(typeof second.body.id_token, 'string');
    assert.equal(await resourceStatus(quirky, first.body.access_token), 401, 'a rotation revokes the previous access token');
    const third = await refresh(quirky, second.body.refresh_token);
    assert.equal(third.status, 200);
    assert.equal(await resourceStatus(quirky, third.body.access_token), 200);

    const reused = await refresh(quirky, first.body.refresh_token);
    assert.equal(reused.status, 400);
    assert.equal(reused.body.error, 'invalid_grant');
    assert.equal((await refresh(quirky, third.body.refresh_token)).body.error, 'invalid_grant', 'the whole grant is revoked');
    assert.equal(await resourceStatus(quirky, third.body.access_token), 401);
    assert.deepEqual([quirky.counters.refreshSuccesses, quirky.counters.reusedRefreshTokens, quirky.counters.introspections], [2, 1, 2]);
  });

  it('revokes at its unadvertised RFC 7009 endpoint', async () => {
    const { body } = await connect(quirky, { scope: 'openid offline_access' });
    assert.equal(await revoke(quirky, quirky.endpoints.revocation!, body.refresh_token), 200);
    assert.equal(quirky.refreshTokenState(String(body.refresh_token)), 'revoked');
    assert.equal((await refresh(quirky, body.refresh_token)).body.error, 'invalid_grant');
  });
});

describe('plain OAuth 2.0 server', () => {
  let plain: FakeProvider;
  before(async () => {
    plain = await startPlainOAuth2Server();
  });
  after(() => plain.close());

  it('serves RFC 8414 metadata only, with revocation and introspection', async () => {
    assert.equal((await getStatus(`${plain.issuer}/.well-known/openid-configuration`)).status, 404);
    const metadata = JSON.parse((await getStatus(`${plain.issuer}/.well-known/oauth-authorization-server`)).body) as Body;
    assert.equal(metadata.issuer, plain.issuer);
    assert.equal(metadata.revocation_endpoint, plain.endpoints.revocation);
    assert.equal(metadata.introspection_endpoint, plain.endpoints.introspection);
    assert.equal(metadata.jwks_uri, undefined);
  });

  it('refuses the openid scope', async () => {
    const callback = await plain.consent(authorizationUrl(plain, pkce().challenge, { scope: 'openid api:read' }));
    assert.equal(callback.searchParams.get('error'), 'invalid_scope');
  });

  it('always issues a refresh token, introspects it, rotates it and revokes the grant on reuse', async () => {
    plain.resetCounters();
    const first = await connect(plain, { scope: 'api:read' });
    assert.equal(first.body.id_token, undefined);
    const introspection = plain.endpoints.introspection!;
    assert.equal((await introspect(plain, introspection, first.body.refresh_token)).active, true);
    const second = await refresh(plain, first.body.refresh_token);
    assert.ok(second.body.refresh_token !== first.body.refresh_token);
    assert.equal((await introspect(plain, introspection, first.body.refresh_token)).active, false, 'used');
    assert.equal(await resourceStatus(plain, first.body.access_token), 200, 'earlier access tokens live on until they expire');
    const third = await refresh(plain, second.body.refresh_token, { auth: 'basic' });
    assert.equal(third.status, 200);

    assert.equal((await refresh(plain, second.body.refresh_token)).body.error, 'invalid_grant');
    assert.equal((await introspect(plain, introspection, third.body.refresh_token)).active, false, 'grant revoked');
    assert.equal((await refresh(plain, third.body.refresh_token)).body.error, 'invalid_grant');
    assert.deepEqual([plain.counters.refreshSuccesses, plain.counters.reusedRefreshTokens], [2, 1]);
    assert.deepEqual(plain.counters.refreshErrors, { invalid_grant: 2 });
  });

  it('revokes a refresh token (RFC 7009) and answers 200 for an unknown one', async () => {
    const { body } = await connect(plain, { scope: 'api:read' });
    assert.equal(await revoke(plain, plain.endpoints.revocation!, body.refresh_token), 200);
    assert.equal((await introspect(plain, plain.endpoints.introspection!, body.refresh_token)).active, false);
    assert.equal(await revoke(plain, plain.endpoints.revocation!, 'not-a-token'), 200);
  });
});

describe('leak-check records', () => {
  it('appends every code and token issued to OFFLINE_TOKENS_SECRETS_FILE', async () => {
    const suiteFile = process.env.OFFLINE_TOKENS_SECRETS_FILE;
    const dir = mkdtempSync(join(tmpdir(), 'fake-providers-'));
    process.env.OFFLINE_TOKENS_SECRETS_FILE = join(dir, 'secrets.txt');
    let recorded = '';
    try {
      const fake = await startPlainOAuth2Server();
      try {
        const { verifier, challenge } = pkce();
        const code = (await fake.consent(authorizationUrl(fake, challenge, { scope: 'api:read' }))).searchParams.get('code')!;
        const { body } = await tokenRequest(fake, { grant_type: 'authorization_code', code, redirect_uri: fake.redirectUri, code_verifier: verifier });
        recorded = readFileSync(process.env.OFFLINE_TOKENS_SECRETS_FILE, 'utf8');
        const lines = new Set(recorded.split('\n'));
        for (const secret of [code, body.access_token, body.refresh_token, fake.client.clientSecret]) assert.ok(lines.has(String(secret)));
        assert.equal(fake.issuedTokens.size, 4);
      } finally {
        await fake.close();
      }
    } finally {
      if (suiteFile === undefined) delete process.env.OFFLINE_TOKENS_SECRETS_FILE;
      else {
        process.env.OFFLINE_TOKENS_SECRETS_FILE = suiteFile;
        appendFileSync(suiteFile, recorded);
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
