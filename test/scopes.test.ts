/**
 * Per-call `scope` (down-scoping within the consent) against the real authorization server: a token
 * for a narrower scope is got by a refresh that sends `scope`, cached per (key, resource, scope),
 * and the grant keeps its consented scope for its own token and the next refreshes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConfigurationError, createTokenManager, type TokenManager } from 'offline-tokens';
import { RESOURCE_PREFIX, startAuthorizationServer, type AuthorizationServer } from './support/authorization-server.ts';
import { createClock, introspect, managerOptions, rejection } from './support/harness.ts';

const HOUR_MS = 3_600_000;
const API_A = `${RESOURCE_PREFIX}a`;

const sorted = (scope: string | undefined): string => (scope ?? '').split(' ').filter(Boolean).sort().join(' ');

async function consent(tokens: TokenManager, idp: AuthorizationServer, key: string, resource?: string): Promise<void> {
  const { url, state } = await tokens.startAuthorization({ key, scope: 'email profile api:read', ...(resource === undefined ? {} : { resource }) });
  await tokens.completeAuthorization(await idp.consent(url), { state });
}

describe('per-call scope (down-scoping)', () => {
  let idp: AuthorizationServer;
  before(async () => {
    idp = await startAuthorizationServer();
  });
  after(() => idp.close());

  it('a narrower scope gets its own token, cached per (key, scope); the grant keeps its consented scope', async () => {
    const clock = createClock();
    const tokens = await createTokenManager(managerOptions(idp, 'post', { now: clock.now }));
    try {
      await consent(tokens, idp, 'narrow');
      const main = await tokens.getToken('narrow');
      assert.ok(['email', 'profile', 'openid'].every((scope) => main.scope.split(' ').includes(scope)), `consented: ${main.scope}`);
      idp.resetCounters();

      const narrow = await tokens.getToken('narrow', { scope: 'openid email' });
      assert.equal(sorted(narrow.scope), 'email openid');
      assert.equal(narrow.tokenType, 'Bearer');
      const seen = await introspect(idp, narrow.accessToken);
      assert.equal(seen.active, true);
      assert.equal(sorted(seen.scope), 'email openid', 'the server issued the token for the requested subset');
      assert.equal(idp.counters.refreshSuccesses, 1);

      // Cached per (key, scope), whatever the spelling; the grant's own token is untouched.
      clock.advance(10 * 60_000);
      assert.ok(await tokens.getAccessToken('narrow', { scope: 'email openid' }) === narrow.accessToken, 'same token');
      assert.ok(await tokens.getAccessToken('narrow', { scope: ['openid', 'email', 'email'] }) === narrow.accessToken, 'same token');
      assert.ok(await tokens.getAccessToken('narrow') === main.accessToken, 'same token');
      assert.equal(idp.counters.refreshSuccesses, 1);

      // Another subset: another token.
      const other = await tokens.getToken('narrow', { scope: 'profile' });
      assert.ok(other.accessToken !== narrow.accessToken);
      assert.equal(sorted((await introspect(idp, other.accessToken)).scope), 'profile');

      // The rotated refresh token still carries the whole consent: a plain refresh gets it all back.
      clock.advance(HOUR_MS);
      const renewed = await tokens.getToken('narrow');
      assert.ok(renewed.accessToken !== main.accessToken);
      assert.equal(sorted(renewed.scope), sorted(main.scope));
      assert.equal(sorted((await introspect(idp, renewed.accessToken)).scope), sorted(main.scope));
      assert.equal(idp.counters.refreshSuccesses, 3);
      assert.equal(idp.counters.reusedRefreshTokens, 0);
      assert.equal((await tokens.getGrant('narrow'))?.scope, main.scope, 'the stored grant keeps its consented scope');
    } finally {
      await tokens.close();
    }
  });

  it('a scope beyond the consent is refused without a request, naming the missing scope; a bad scope names the option', async () => {
    const tokens = await createTokenManager(managerOptions(idp, 'post'));
    try {
      await consent(tokens, idp, 'beyond');
      idp.resetCounters();
      const error = await rejection(tokens.getAccessToken('beyond', { scope: 'openid address' }));
      assert.ok(error instanceof ConfigurationError && /not consented: address/.test(error.message), `got ${error}`);
      assert.equal(idp.counters.refreshRequests, 0);
      for (const scope of ['', 'a"b', [], ['ok', 7], 'back\\slash']) {
        const bad = await rejection(tokens.getAccessToken('beyond', { scope: scope as never }));
        assert.ok(bad instanceof ConfigurationError && /`scope`/.test(bad.message), `got ${bad}`);
      }
      // The grant is alive and unchanged.
      assert.equal((await tokens.getGrant('beyond'))?.status, 'active');
      assert.ok((await tokens.getAccessToken('beyond', { scope: 'openid' })).length > 0);
      assert.equal(idp.counters.reusedRefreshTokens, 0);
    } finally {
      await tokens.close();
    }
  });

  it('resource and scope together: the token is for the resource, with the requested scope; cached hits are synchronous', async () => {
    const tokens = await createTokenManager(managerOptions(idp, 'post'));
    try {
      await consent(tokens, idp, 'both', API_A);
      const token = await tokens.getToken('both', { resource: API_A, scope: 'api:read' });
      const claims = JSON.parse(Buffer.from(token.accessToken.split('.')[1]!, 'base64url').toString('utf8')) as { aud?: unknown; scope?: string };
      assert.equal(claims.aud, API_A);
      assert.equal(claims.scope, 'api:read');
      assert.equal(token.scope, 'api:read');
      assert.ok(await tokens.getAccessToken('both', { resource: API_A, scope: 'api:read' }) === token.accessToken, 'same token');
      assert.ok(await tokens.getAccessToken('both', { resource: API_A }) !== token.accessToken, 'without scope: another cache entry');

      // A cached hit is synchronous: the same held promise, for every spelling seen before.
      for (const options of [{ resource: API_A }, { resource: new URL(API_A) }, { resource: API_A, scope: 'api:read' }, { scope: 'openid' }]) {
        await tokens.getAccessToken('both', options);
        const held = tokens.getAccessToken('both', options);
        assert.ok(tokens.getAccessToken('both', options) === held, `held promise for ${JSON.stringify(options)}`);
        assert.ok(tokens.getToken('both', options) === tokens.getToken('both', options), 'held promise of getToken');
      }
      const forced = tokens.getAccessToken('both', { resource: API_A, forceRefresh: true });
      assert.ok(forced !== tokens.getAccessToken('both', { resource: API_A }), 'forceRefresh takes the slow path');
      await forced;
    } finally {
      await tokens.close();
    }
  });
});
