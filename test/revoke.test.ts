import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Keyv from 'keyv';
import { ReauthRequiredError, ServerUnavailableError } from 'offline-tokens';
import { startAuthorizationServer, type AuthorizationServer } from './support/authorization-server.ts';
import { grantKey, rejection, withManager } from './support/harness.ts';

describe('revoke', () => {
  let idp: AuthorizationServer;
  before(async () => {
    idp = await startAuthorizationServer();
  });
  after(() => idp.close());

  it('revokes the refresh token at the server (RFC 7009), then deletes the grant', async () => {
    const store = new Keyv();
    await withManager({ idp, client: 'basic', connect: 'leaving', options: { store } }, async (tokens) => {
      const { refreshToken } = JSON.parse((await store.get(grantKey('leaving'))) as string) as { refreshToken: string };
      assert.equal(idp.refreshTokenState(refreshToken), 'active');
      idp.resetCounters();
      await tokens.revoke('leaving');
      assert.equal(idp.counters.revocations, 1);
      assert.equal(idp.refreshTokenState(refreshToken), 'unknown', 'the server forgot the refresh token');
      assert.equal(await tokens.getGrant('leaving'), undefined);
      const error = await rejection(tokens.getAccessToken('leaving'));
      assert.ok(error instanceof ReauthRequiredError && error.reason === 'no_grant');
      await tokens.revoke('leaving'); // revoking nothing is fine
    });
  });

  it('deletes the grant even when the server cannot be reached, and says so', async () => {
    await withManager({ idp, connect: 'offline-revoke', options: { requestTimeoutMs: 1_000 } }, async (tokens) => {
      try {
        await idp.refuseConnections(1_500);
        const error = await rejection(tokens.revoke('offline-revoke'));
        assert.ok(error instanceof ServerUnavailableError, `got ${error}`);
        assert.equal(await tokens.getGrant('offline-revoke'), undefined);
      } finally {
        await idp.listening();
      }
    });
  });
});
