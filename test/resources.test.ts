/**
 * Resource indicators (RFC 8707) per call against the real authorization server (oidc-provider with
 * `features.resourceIndicators`, JWT access tokens whose `aud` is the resource): tokens cached per
 * (key, resource), every refresh of a grant — for any resource — through its one refresh transaction.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Keyv from 'keyv';
import { ConfigurationError, createInProcessLock, createTokenManager, type TokenManager } from 'offline-tokens';
import { RESOURCE_PREFIX, startAuthorizationServer, type AuthorizationServer } from './support/authorization-server.ts';
import { createClock, managerOptions, rejection } from './support/harness.ts';

const HOUR_MS = 3_600_000;
const API_A = `${RESOURCE_PREFIX}a`;
const API_B = `${RESOURCE_PREFIX}b`;

/** The `aud` of a JWT access token (read only, the test trusts its own server). */
function audience(token: string): unknown {
  return (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { aud?: unknown }).aud;
}

async function consentWithResources(tokens: TokenManager, idp: AuthorizationServer, key: string): Promise<void> {
  const { url, state } = await tokens.startAuthorization({ key, scope: 'api:read', resource: [API_B, API_A] });
  assert.deepEqual(url.searchParams.getAll('resource'), [API_A, API_B]);
  await tokens.completeAuthorization(await idp.consent(url), { state });
}

describe('resources per call (RFC 8707)', () => {
  let idp: AuthorizationServer;
  before(async () => {
    idp = await startAuthorizationServer();
  });
  after(() => idp.close());

  it('two resources give two tokens whose aud differ, cached per resource, refreshed independently', async () => {
    const clock = createClock();
    const tokens = await createTokenManager(managerOptions(idp, 'post', { now: clock.now }));
    try {
      await consentWithResources(tokens, idp, 'apis');
      const main = await tokens.getAccessToken('apis');
      idp.resetCounters();

      const a = await tokens.getAccessToken('apis', { resource: API_A });
      const b = await tokens.getAccessToken('apis', { resource: new URL(API_B) });
      assert.equal(audience(a), API_A);
      assert.equal(audience(b), API_B);
      assert.ok(idp.issuedTokens.has(a) && idp.issuedTokens.has(b), 'the leak check knows the JWT access tokens');
      assert.equal(idp.counters.refreshSuccesses, 2, 'one refresh per resource');
      assert.equal((await tokens.getGrant('apis'))?.rotations, 2);

      // Cached per resource; the grant's own token is untouched by the resource refreshes.
      clock.advance(30 * 60_000);
      assert.ok(await tokens.getAccessToken('apis', { resource: API_A }) === a, 'same token');
      assert.ok(await tokens.getAccessToken('apis', { resource: [API_B, API_B] }) === b, 'same token');
      assert.ok(await tokens.getAccessToken('apis') === main, 'same token');
      assert.equal(idp.counters.refreshSuccesses, 2);

      // A forced token for A rotates the grant and leaves B's still-valid token in place.
      const a2 = await tokens.getAccessToken('apis', { resource: API_A, forceRefresh: true });
      assert.ok(a2 !== a, 'a different token');
      assert.equal(audience(a2), API_A);
      assert.ok(await tokens.getAccessToken('apis', { resource: API_B }) === b, 'same token');
      assert.equal(idp.counters.refreshSuccesses, 3);

      // All expired: each (and the grant's own token) refreshed once, one rotation at a time.
      clock.advance(HOUR_MS);
      const [a3, b3, main3] = await Promise.all([
        tokens.getAccessToken('apis', { resource: API_A }),
        tokens.getAccessToken('apis', { resource: API_B }),
        tokens.getAccessToken('apis'),
        tokens.getAccessToken('apis', { resource: API_A }),
        tokens.getAccessToken('apis', { resource: API_B }),
      ]);
      assert.equal(audience(a3), API_A);
      assert.equal(audience(b3), API_B);
      assert.ok(main3 !== main, 'a different token');
      assert.equal(idp.counters.refreshSuccesses, 6);
      assert.equal(idp.counters.reusedRefreshTokens, 0);
      assert.equal((await tokens.getGrant('apis'))?.rotations, 6);
    } finally {
      await tokens.close();
    }
  });

  it('two managers sharing the store and the lock, 2 resources × 5 callers each: never a reused refresh token', async () => {
    const store = new Keyv();
    const lock = createInProcessLock();
    const clock = createClock();
    const first = await createTokenManager(managerOptions(idp, 'post', { now: clock.now, store, lock }));
    const second = await createTokenManager(managerOptions(idp, 'post', { now: clock.now, store, lock }));
    try {
      await consentWithResources(first, idp, 'shared');
      idp.resetCounters();
      for (let round = 0; round < 3; round++) {
        const calls = [first, second].flatMap((tokens) => [API_A, API_B].flatMap((resource) =>
          Array.from({ length: 5 }, () => tokens.getAccessToken('shared', { resource }))));
        const results = await Promise.all(calls);
        for (const [index, token] of results.entries()) assert.equal(audience(token), Math.floor(index / 5) % 2 === 0 ? API_A : API_B);
        clock.advance(HOUR_MS);
      }
      assert.equal(idp.counters.reusedRefreshTokens, 0);
      assert.equal(idp.counters.refreshErrors.invalid_grant ?? 0, 0);
      assert.equal(idp.counters.refreshSuccesses, 3 * 4, 'one refresh per (process, resource) per round');
      assert.equal((await first.getGrant('shared'))?.rotations, 12);
    } finally {
      await second.close();
      await first.close();
    }
  });

  it('keeps at most maxTokensPerGrant tokens per grant', async () => {
    const clock = createClock();
    const tokens = await createTokenManager(managerOptions(idp, 'post', { now: clock.now, maxTokensPerGrant: 1 }));
    try {
      await consentWithResources(tokens, idp, 'bounded');
      idp.resetCounters();
      const a = await tokens.getAccessToken('bounded', { resource: API_A });
      await tokens.getAccessToken('bounded', { resource: API_B });
      assert.ok(await tokens.getAccessToken('bounded', { resource: API_A }) !== a, 'A was evicted by B');
      assert.equal(idp.counters.refreshSuccesses, 3);
      assert.equal(idp.counters.reusedRefreshTokens, 0);
    } finally {
      await tokens.close();
    }
  });

  it('refuses a resource that is not an absolute URI, naming the option', async () => {
    const tokens = await createTokenManager(managerOptions(idp, 'post'));
    try {
      for (const resource of ['api', `${API_A}#x`, [], [API_A, 7]]) {
        const error = await rejection(tokens.getAccessToken('k', { resource: resource as never }));
        assert.ok(error instanceof ConfigurationError && /`resource`/.test(error.message), `got ${error}`);
      }
      const error = await rejection(tokens.startAuthorization({ key: 'k', resource: 'relative' }));
      assert.ok(error instanceof ConfigurationError, `got ${error}`);
      const revoked = await createTokenManager(managerOptions(idp, 'post', { maxTokensPerGrant: 0 })).catch((e: unknown) => e);
      assert.ok(revoked instanceof ConfigurationError);
    } finally {
      await tokens.close();
    }
  });
});
