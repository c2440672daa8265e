import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startAuthorizationServer, type AuthorizationServer } from './support/authorization-server.ts';
import { withManager, type ClientKind } from './support/harness.ts';

describe('offline access flow against a real authorization server', () => {
  let idp: AuthorizationServer;
  before(async () => {
    idp = await startAuthorizationServer();
  });
  after(() => idp.close());

  for (const kind of ['basic', 'post', 'public', 'private_key_jwt'] as ClientKind[]) {
    it(`consents, stores the grant and refreshes it (${kind} client)`, async () => {
      await withManager({ idp, client: kind, options: { scope: 'email' } }, async (tokens, clock) => {
        const { url, state } = await tokens.startAuthorization({ key: `user-${kind}` });
        assert.equal(url.searchParams.get('prompt'), 'consent');
        assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
        assert.equal(url.searchParams.get('state'), state);
        assert.ok(url.searchParams.get('nonce'));
        assert.deepEqual(url.searchParams.get('scope')?.split(' '), ['openid', 'email', 'offline_access']);

        const grant = await tokens.completeAuthorization(await idp.consent(url), { state });
        assert.equal(grant.subject, 'test-user');
        assert.equal(grant.status, 'active');
        assert.equal(grant.rotations, 0);
        assert.match(grant.scope, /offline_access/);
        assert.equal(grant.expiresAt, clock.now() + 3_600_000);
        assert.equal(grant.refreshExpiresAt, clock.now() + 14 * 86_400_000);
        assert.ok(!('refreshToken' in grant) && !('accessToken' in grant), 'grant info carries no token');

        const first = await tokens.getAccessToken(`user-${kind}`);
        assert.equal(await userinfoSubject(idp, first), 'test-user');

        const before = idp.counters.refreshRequests;
        clock.advance(3_600_000);
        const second = await tokens.getAccessToken(`user-${kind}`);
        assert.notEqual(second, first);
        assert.equal(idp.counters.refreshRequests, before + 1);
        assert.equal(await userinfoSubject(idp, second), 'test-user');
        assert.equal((await tokens.getGrant(`user-${kind}`))?.rotations, 1);
      });
    });
  }

  it('hands out a cached token without calling the server', async () => {
    await withManager({ idp, connect: 'cached' }, async (tokens, clock) => {
      const before = idp.counters.refreshRequests;
      const tokensSeen = new Set<string>();
      for (let i = 0; i < 100; i++) {
        tokensSeen.add(await tokens.getAccessToken('cached'));
        clock.advance(30_000); // 50 minutes in all: before the refresh window
      }
      assert.equal(tokensSeen.size, 1);
      // With a live signal the cached token is served too; an aborted one rejects with its reason.
      assert.equal(await tokens.getAccessToken('cached', { signal: new AbortController().signal }), [...tokensSeen][0]);
      const aborted = AbortSignal.abort(new Error('caller gave up'));
      await assert.rejects(tokens.getAccessToken('cached', { signal: aborted }), (error) => error === aborted.reason);
      assert.equal(idp.counters.refreshRequests, before);
    });
  });
});

async function userinfoSubject(idp: AuthorizationServer, accessToken: string): Promise<string> {
  const response = await fetch(`${idp.issuer}/me`, { headers: { authorization: `Bearer ${accessToken}` } });
  assert.equal(response.status, 200);
  return ((await response.json()) as { sub: string }).sub;
}
