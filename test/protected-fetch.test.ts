/**
 * `tokens.fetch`: the whole protected-resource call, against a real resource server that checks the
 * JWT access token and the DPoP proof (test/support/protected-resource.ts), with tokens from the real
 * authorization server (resource indicators, DPoP); and against oidc-provider's own userinfo
 * endpoint with server-issued nonces.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Keyv from 'keyv';
import { createTokenManager, type TokenManager } from 'offline-tokens';
import { challengeError, nextStep } from '../src/refresh/protected-fetch.ts';
import { RESOURCE_PREFIX, startAuthorizationServer, type AuthorizationServer } from './support/authorization-server.ts';
import { startProtectedResource, type ProtectedResource } from './support/protected-resource.ts';
import { connect, grantKey, managerOptions, registerSecret, rejection } from './support/harness.ts';

const API = `${RESOURCE_PREFIX}orders`;

async function consentFor(tokens: TokenManager, idp: AuthorizationServer, key: string): Promise<void> {
  const { url, state } = await tokens.startAuthorization({ key, scope: 'api:read', resource: API });
  await tokens.completeAuthorization(await idp.consent(url), { state });
}

/** The grant's stored DPoP private key, registered with the leak check. */
async function registerStoredKey(store: Keyv, key: string): Promise<void> {
  const record = JSON.parse((await store.get(grantKey(key))) as string) as { dpopKey?: { jwk: { d: string } } };
  registerSecret(record.dpopKey!.jwk.d);
}

describe('tokens.fetch', () => {
  let idp: AuthorizationServer;
  before(async () => {
    idp = await startAuthorizationServer();
  });
  after(() => idp.close());

  it('DPoP: the resource checks the proof against cnf.jkt; a nonce challenge is retried once and the nonce reused; a refused token is refreshed once', async () => {
    const api = await startProtectedResource({ issuer: idp.issuer, audience: API, requireNonce: true });
    const store = new Keyv();
    const tokens = await createTokenManager(managerOptions(idp, 'post', { dpop: true, store }));
    try {
      await consentFor(tokens, idp, 'dpop-fetch');
      await registerStoredKey(store, 'dpop-fetch');
      idp.resetCounters();

      // First call: no nonce yet → 401 use_dpop_nonce with DPoP-Nonce → one retry with it; the body is replayed.
      const first = await tokens.fetch('dpop-fetch', `${api.url}/orders?page=2`, { method: 'POST', body: 'order-1', headers: { 'content-type': 'text/plain' } }, { resource: API });
      assert.equal(first.status, 200);
      assert.deepEqual(await first.json(), { aud: API, body: 'order-1' });
      assert.deepEqual(api.counters, { requests: 2, accepted: 1, nonceChallenges: 1, refusedTokens: 0, badProofs: 0 });
      assert.equal(api.accepted[0]!.scheme, 'DPoP');
      assert.equal(idp.counters.refreshSuccesses, 1, 'one refresh for the resource');

      // The nonce is remembered per origin: the next call is accepted at once, with the cached token.
      const second = await tokens.fetch('dpop-fetch', `${api.url}/orders`, undefined, { resource: API });
      assert.equal(second.status, 200);
      await second.body?.cancel();
      assert.equal(api.counters.requests, 3);
      assert.equal(api.counters.nonceChallenges, 1);
      assert.ok(api.accepted[1]!.token === api.accepted[0]!.token, 'the cached token');

      // A new nonce at the server: challenged once more, retried once.
      api.rotateNonce();
      const third = await tokens.fetch('dpop-fetch', `${api.url}/orders`, { method: 'DELETE' }, { resource: API });
      assert.equal(third.status, 200);
      await third.body?.cancel();
      assert.equal(api.counters.nonceChallenges, 2);
      assert.equal(api.counters.requests, 5);

      // The resource refuses the token (invalid_token): one forced refresh, then accepted with the new, still bound token.
      api.refused.add(api.accepted[0]!.token);
      const fourth = await tokens.fetch('dpop-fetch', `${api.url}/orders`, undefined, { resource: API });
      assert.equal(fourth.status, 200);
      await fourth.body?.cancel();
      assert.equal(api.counters.refusedTokens, 1);
      assert.equal(idp.counters.refreshSuccesses, 2);
      assert.ok(api.accepted.at(-1)!.token !== api.accepted[0]!.token, 'a new token');
      assert.equal(api.counters.badProofs, 0, 'every proof the SDK made was valid');

      // The resource's checks are real: a proof for another URL, or a bearer use of the bound token, is refused.
      const token = api.accepted.at(-1)!.token;
      const wrongUrl = await fetch(`${api.url}/orders`, { headers: { authorization: `DPoP ${token}`, dpop: await tokens.dpopProof('dpop-fetch', { method: 'GET', url: `${api.url}/other`, accessToken: token }) } });
      assert.equal(wrongUrl.status, 401);
      assert.match(wrongUrl.headers.get('www-authenticate') ?? '', /invalid_dpop_proof/);
      const asBearer = await fetch(`${api.url}/orders`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(asBearer.status, 401);
      await Promise.all([wrongUrl.body?.cancel(), asBearer.body?.cancel()]);
      assert.equal(api.counters.badProofs, 1);
      assert.equal(idp.counters.reusedRefreshTokens, 0);
    } finally {
      await tokens.close();
      await api.close();
    }
  });

  it('Bearer: a 401 invalid_token costs one forced refresh and one retry, never more; other statuses are handed back as they are', async () => {
    const api = await startProtectedResource({ issuer: idp.issuer, audience: API });
    const tokens = await createTokenManager(managerOptions(idp, 'post'));
    try {
      await consentFor(tokens, idp, 'bearer-fetch');
      idp.resetCounters();
      const ok = await tokens.fetch('bearer-fetch', new URL(`${api.url}/orders`), { headers: { authorization: 'Bearer overwritten' } }, { resource: API });
      assert.equal(ok.status, 200);
      await ok.body?.cancel();
      assert.equal(api.accepted[0]!.scheme, 'Bearer');
      assert.ok(api.accepted[0]!.token === await tokens.getAccessToken('bearer-fetch', { resource: API }), 'the cached resource token');

      // The token was revoked behind the SDK's back (e.g. a rotation elsewhere): refreshed, retried.
      api.refused.add(api.accepted[0]!.token);
      const retried = await tokens.fetch('bearer-fetch', new Request(`${api.url}/orders`, { method: 'PUT', body: 'again' }), undefined, { resource: API });
      assert.equal(retried.status, 200);
      assert.equal(((await retried.json()) as { body: string }).body, 'again', 'the Request body is replayed');
      assert.equal(idp.counters.refreshSuccesses, 2);
      assert.equal(api.counters.requests, 3);

      // Refused whatever the token: one forced refresh, then the 401 is the answer.
      api.refuseAll = true;
      const refused = await tokens.fetch('bearer-fetch', `${api.url}/orders`, undefined, { resource: API });
      assert.equal(refused.status, 401);
      assert.match(refused.headers.get('www-authenticate') ?? '', /invalid_token/);
      await refused.body?.cancel();
      assert.equal(api.counters.requests, 5);
      assert.equal(idp.counters.refreshSuccesses, 3);
      api.refuseAll = false;

      // Not about the token: handed back without a retry.
      for (const status of [403, 500, 404]) {
        api.respondNext.push(status);
        const response = await tokens.fetch('bearer-fetch', `${api.url}/orders`, undefined, { resource: API });
        assert.equal(response.status, status);
        await response.body?.cancel();
      }
      assert.equal(api.counters.requests, 8);
      assert.equal(idp.counters.refreshSuccesses, 3);
      assert.equal(idp.counters.reusedRefreshTokens, 0);

      // Aborted: rejects with the reason, nothing sent.
      const reason = new Error('caller gave up');
      const error = await rejection(tokens.fetch('bearer-fetch', `${api.url}/orders`, { signal: AbortSignal.abort(reason) }, { resource: API }));
      assert.equal(error, reason);
      assert.equal(api.counters.requests, 8);
    } finally {
      await tokens.close();
      await api.close();
    }
  });

  it('decides retries from the status and the challenge alone', () => {
    const fresh = { dpop: true, nonceRetried: false, refreshed: false };
    assert.equal(challengeError('DPoP error="use_dpop_nonce", error_description="x"'), 'use_dpop_nonce');
    assert.equal(challengeError('Bearer realm="api", error_description="no", error=invalid_token'), 'invalid_token');
    assert.equal(challengeError('Bearer realm="api"'), undefined);
    assert.equal(nextStep(200, null, 'n', fresh), 'done');
    assert.equal(nextStep(401, 'DPoP error="use_dpop_nonce"', 'n', fresh), 'retry_with_nonce');
    assert.equal(nextStep(401, 'DPoP error="use_dpop_nonce"', null, fresh), 'done', 'no nonce to retry with');
    assert.equal(nextStep(401, 'DPoP error="use_dpop_nonce"', 'n', { ...fresh, nonceRetried: true }), 'done');
    assert.equal(nextStep(401, 'DPoP error="use_dpop_nonce"', 'n', { ...fresh, dpop: false }), 'done');
    assert.equal(nextStep(401, 'Bearer error="invalid_token"', null, fresh), 'retry_with_new_token');
    assert.equal(nextStep(401, 'Bearer realm="api"', null, fresh), 'retry_with_new_token');
    assert.equal(nextStep(401, null, null, { ...fresh, refreshed: true }), 'done');
    assert.equal(nextStep(401, 'DPoP error="invalid_dpop_proof"', null, fresh), 'done');
    assert.equal(nextStep(403, 'Bearer error="insufficient_scope"', null, fresh), 'done');
  });
});

describe('tokens.fetch against the authorization server\'s own userinfo (DPoP nonces required)', () => {
  let idp: AuthorizationServer;
  before(async () => {
    idp = await startAuthorizationServer({ dpopNonce: true });
  });
  after(() => idp.close());

  it('the grant\'s own token: the userinfo endpoint checks the proof; its nonce is asked for once', async () => {
    const store = new Keyv();
    const tokens = await createTokenManager(managerOptions(idp, 'post', { dpop: true, store }));
    try {
      await connect(tokens, idp, 'userinfo');
      await registerStoredKey(store, 'userinfo');
      for (let call = 0; call < 3; call++) {
        const response = await tokens.fetch('userinfo', `${idp.issuer}/me`);
        assert.equal(response.status, 200);
        assert.equal(((await response.json()) as { sub: string }).sub, 'test-user');
      }
      assert.equal(idp.counters.resourceNonceChallenges, 1, 'asked once, then the nonce was sent with every proof');
    } finally {
      await tokens.close();
    }
  });
});
