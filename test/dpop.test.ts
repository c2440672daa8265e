/**
 * DPoP (RFC 9449) against the real authorization server (oidc-provider with `features.dPoP`): one key
 * per grant, made at consent and stored with the grant, signing the code exchange, every refresh and
 * the proofs of resource requests. The protected resource is the server's own userinfo endpoint,
 * which checks the proof, its `ath` and the token's `cnf.jkt` binding.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import Keyv from 'keyv';
import { decodeGrant, encodeGrant } from '../src/grant/record.ts';
import { ConfigurationError, RecordError, createTokenManager, generateEncryptionKey, type Jwk, type TokenManager } from 'offline-tokens';
import { startAuthorizationServer, type AuthorizationServer } from './support/authorization-server.ts';
import { connect, createClock, grantKey, introspect, managerOptions, registerSecret, rejection, withManager } from './support/harness.ts';

const HOUR_MS = 3_600_000;

/** RFC 7638 thumbprint, computed here independently of the SDK. */
function thumbprint(jwk: Jwk): string {
  const members = jwk.kty === 'EC' ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y } : { crv: jwk.crv, kty: jwk.kty, x: jwk.x };
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}

/** The grant's stored DPoP key (plain store), registered with the leak check. */
async function storedKey(store: Keyv, key: string): Promise<Jwk> {
  const record = JSON.parse((await store.get(grantKey(key))) as string) as { dpopKey?: { jwk: Jwk } };
  assert.ok(record.dpopKey, 'the grant record carries its DPoP key');
  registerSecret(record.dpopKey.jwk.d!);
  return record.dpopKey.jwk;
}

/** A userinfo request with the given headers; returns the status (and a nonce the server asked for). */
async function userinfo(idp: AuthorizationServer, headers: Record<string, string>): Promise<{ status: number; nonce: string | null }> {
  const response = await fetch(`${idp.issuer}/me`, { headers });
  await response.body?.cancel();
  return { status: response.status, nonce: response.headers.get('dpop-nonce') };
}

/** A userinfo request as a DPoP client makes it, with the resource server's nonce when it asks for one. */
async function dpopUserinfo(idp: AuthorizationServer, tokens: TokenManager, key: string, accessToken: string): Promise<number> {
  const url = `${idp.issuer}/me`;
  let result = await userinfo(idp, { authorization: `DPoP ${accessToken}`, dpop: await tokens.dpopProof(key, { method: 'GET', url, accessToken }) });
  if (result.status === 401 && result.nonce !== null) {
    result = await userinfo(idp, { authorization: `DPoP ${accessToken}`, dpop: await tokens.dpopProof(key, { method: 'GET', url, accessToken, nonce: result.nonce }) });
  }
  return result.status;
}

describe('DPoP', () => {
  let idp: AuthorizationServer;
  before(async () => {
    idp = await startAuthorizationServer();
  });
  after(() => idp.close());

  for (const algorithm of ['ES256', 'EdDSA'] as const) {
    it(`binds every access token to the grant's key (${algorithm}); a second process refreshes with the same stored key`, async () => {
      const store = new Keyv();
      await withManager({ idp, connect: `dpop-${algorithm}`, options: { dpop: { algorithm }, store } }, async (tokens, clock) => {
        const other = createClock(clock.now() + HOUR_MS);
        await withManager({ idp, clock: other, options: { dpop: true, store } }, async (second) => {
          const jwk = await storedKey(store, `dpop-${algorithm}`);
          const info = await tokens.getGrant(`dpop-${algorithm}`);
          assert.ok(info !== undefined && !('dpopKey' in info), 'grant info carries no key');

          const first = await tokens.getAccessToken(`dpop-${algorithm}`);
          const claims = await introspect(idp, first);
          assert.equal(claims.active, true);
          assert.equal(claims.token_type, 'DPoP');
          assert.equal(claims.cnf?.jkt, thumbprint(jwk), 'cnf.jkt is the thumbprint of the stored key');

          assert.equal(await dpopUserinfo(idp, tokens, `dpop-${algorithm}`, first), 200, 'the resource accepts the proof');
          assert.equal((await userinfo(idp, { authorization: `Bearer ${first}` })).status, 401, 'a bound token is refused as a bearer token');
          assert.notEqual((await userinfo(idp, { authorization: `DPoP ${first}` })).status, 200, 'and without a proof');
          const elsewhere = await tokens.dpopProof(`dpop-${algorithm}`, { method: 'GET', url: `${idp.issuer}/elsewhere`, accessToken: first });
          assert.notEqual((await userinfo(idp, { authorization: `DPoP ${first}`, dpop: elsewhere })).status, 200, 'a proof for another URL is refused');

          // The second process finds the token expired and refreshes: its proof is signed with the stored key.
          idp.resetCounters();
          const refreshed = await second.getAccessToken(`dpop-${algorithm}`);
          assert.ok(refreshed !== first, 'a different token');
          assert.equal(idp.counters.refreshSuccesses, 1);
          assert.equal((await second.getGrant(`dpop-${algorithm}`))?.rotations, 1);
          assert.equal((await introspect(idp, refreshed)).cnf?.jkt, thumbprint(jwk));
          assert.deepEqual(await storedKey(store, `dpop-${algorithm}`), jwk, 'the key is kept across rotations');
          assert.equal(await dpopUserinfo(idp, second, `dpop-${algorithm}`, refreshed), 200);
          assert.equal(await dpopUserinfo(idp, tokens, `dpop-${algorithm}`, refreshed), 200, 'either process signs with the same key');
        });
      });
    });
  }

  it('a public client: its refresh token is bound too, refused without the proof', async () => {
    const store = new Keyv();
    await withManager({ idp, client: 'public', connect: 'dpop-public', options: { dpop: true, store } }, async (tokens, clock) => {
      await storedKey(store, 'dpop-public');
      const { refreshToken } = JSON.parse((await store.get(grantKey('dpop-public'))) as string) as { refreshToken: string };
      const stolen = await fetch(`${idp.issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: idp.clients.public.clientId }),
      });
      assert.equal(stolen.status, 400);
      assert.equal(((await stolen.json()) as { error: string }).error, 'invalid_grant');
      assert.equal(idp.refreshTokenState(refreshToken), 'active', 'the refused attempt did not consume it');

      clock.advance(HOUR_MS);
      const refreshed = await tokens.getAccessToken('dpop-public');
      assert.equal((await tokens.getGrant('dpop-public'))?.rotations, 1);
      assert.equal(await dpopUserinfo(idp, tokens, 'dpop-public', refreshed), 200);
      const { refreshToken: current } = JSON.parse((await store.get(grantKey('dpop-public'))) as string) as { refreshToken: string };
      assert.equal((await tokens.revoke('dpop-public')).revokedAtServer, true);
      assert.equal(idp.refreshTokenState(current), 'unknown', 'revoked at the server');
    });
  });

  it('encrypts the key with the grant; a second process with the same keys signs with it', async () => {
    const store = new Keyv();
    const encryption = { keys: { k1: generateEncryptionKey() }, currentKeyId: 'k1' };
    await withManager({ idp, connect: 'dpop-encrypted', options: { dpop: true, store, encryption } }, async (tokens, clock) => {
      const other = createClock(clock.now() + HOUR_MS);
      await withManager({ idp, clock: other, options: { dpop: true, store, encryption } }, async (second) => {
        const raw = (await store.get(grantKey('dpop-encrypted'))) as string;
        assert.doesNotMatch(raw, /dpopKey|"kty"|"d"/, 'no key material in the clear');
        const first = await tokens.getAccessToken('dpop-encrypted');
        const jkt = (await introspect(idp, first)).cnf?.jkt;
        assert.ok(jkt);
        const refreshed = await second.getAccessToken('dpop-encrypted');
        assert.ok(refreshed !== first, 'a different token');
        assert.equal((await introspect(idp, refreshed)).cnf?.jkt, jkt);
        assert.equal(await dpopUserinfo(idp, second, 'dpop-encrypted', refreshed), 200);
      });
    });
  });

  it('a grant made without `dpop` has no key: dpopProof says so; no grant: reauth', async () => {
    await withManager({ idp, connect: 'bearer-only' }, async (tokens) => {
      const error = await rejection(tokens.dpopProof('bearer-only', { method: 'GET', url: `${idp.issuer}/me` }));
      assert.ok(error instanceof ConfigurationError, `got ${error}`);
      assert.equal((await rejection(tokens.dpopProof('nobody', { method: 'GET', url: `${idp.issuer}/me` }))).name, 'ReauthRequiredError');
      await withManager({ idp, connect: 'dpop-bad-url', options: { dpop: true } }, async (dpop) => {
        assert.ok(await rejection(dpop.dpopProof('dpop-bad-url', { method: 'GET', url: 'not a url' })) instanceof ConfigurationError);
      });
    });
  });

  it('validates the option', async () => {
    for (const dpop of ['yes', { algorithm: 'HS256' }, { alg: 'ES256' }]) {
      const error = await rejection(createTokenManager(managerOptions(idp, 'post', { dpop: dpop as never })));
      assert.ok(error instanceof ConfigurationError && /`dpop`/.test(error.message), `got ${error}`);
    }
  });
});

describe('the grant record with a DPoP key', () => {
  const grant = {
    key: 'k', issuer: 'https://idp.example.com', clientId: 'c', subject: undefined, scope: 'openid', refreshToken: 'r', accessToken: 'a',
    expiresAt: 2, issuedAt: 1, refreshExpiresAt: 3, createdAt: 1, rotations: 0, status: 'active' as const, reauthReason: undefined, refreshStartedAt: undefined,
  };
  const dpopKey = { alg: 'ES256' as const, jwk: { kty: 'EC', crv: 'P-256', x: 'x', y: 'y', d: 'not-a-real-private-key-0123' } };

  it('an old record (no key) still decodes, without the field; a record with a key round-trips', () => {
    const old = decodeGrant(JSON.stringify({ v: 1, ...grant }));
    assert.ok(!('dpopKey' in old));
    assert.deepEqual(decodeGrant(encodeGrant({ ...grant, dpopKey })), { ...grant, dpopKey });
  });

  it('a damaged key is a RecordError', () => {
    for (const bad of [{ alg: 'HS256', jwk: dpopKey.jwk }, { alg: 'ES256' }, { alg: 'ES256', jwk: { kty: 'EC' } }, 'key', 7]) {
      assert.throws(() => decodeGrant(JSON.stringify({ v: 1, ...grant, dpopKey: bad })), RecordError);
    }
  });
});

describe('DPoP with a server that requires nonces', () => {
  let idp: AuthorizationServer;
  before(async () => {
    idp = await startAuthorizationServer({ dpopNonce: true });
  });
  after(() => idp.close());

  it('use_dpop_nonce is answered by a retry with the nonce (code exchange, a fresh process\'s refresh), then the nonce is reused; a resource nonce goes in the proof', async () => {
    const store = new Keyv();
    const clock = createClock();
    const tokens = await createTokenManager(managerOptions(idp, 'post', { dpop: true, store, now: clock.now }));
    try {
      await connect(tokens, idp, 'nonce-user');
      await storedKey(store, 'nonce-user');
      assert.equal(idp.counters.codeExchanges, 1);
      assert.equal(idp.counters.tokenNonceChallenges, 1, 'the code exchange was asked for a nonce and retried with it');
      for (let rotation = 1; rotation <= 3; rotation++) {
        clock.advance(HOUR_MS);
        const token = await tokens.getAccessToken('nonce-user');
        assert.equal(await dpopUserinfo(idp, tokens, 'nonce-user', token), 200);
      }
      assert.equal((await tokens.getGrant('nonce-user'))?.rotations, 3);
      assert.equal(idp.counters.refreshSuccesses, 3);
      assert.equal(idp.counters.reusedRefreshTokens, 0);
      assert.ok(idp.counters.resourceNonceChallenges >= 1, 'the resource asked for a nonce and accepted the proof carrying it');
      assert.equal(idp.counters.tokenNonceChallenges, 1, 'the refreshes reused the nonce of the exchange');

      // Another process has no nonce yet: its refresh is asked for one and retried with it.
      const later = createClock(clock.now() + HOUR_MS);
      const second = await createTokenManager(managerOptions(idp, 'post', { dpop: true, store, now: later.now }));
      try {
        const token = await second.getAccessToken('nonce-user');
        assert.equal(await dpopUserinfo(idp, second, 'nonce-user', token), 200);
        assert.equal(idp.counters.tokenNonceChallenges, 2);
        assert.equal(idp.counters.refreshSuccesses, 4);
        assert.equal(idp.counters.refreshErrors.use_dpop_nonce, 1);
        assert.equal(idp.counters.reusedRefreshTokens, 0);
      } finally {
        await second.close();
      }
    } finally {
      await tokens.close();
    }
  });
});
