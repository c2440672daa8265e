import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Keyv from 'keyv';
import { ReauthRequiredError, ServerUnavailableError } from 'offline-tokens';
import { startAuthorizationServer, type AuthorizationServer } from './support/authorization-server.ts';
import { connectedManager, rejection, grantKey } from './support/harness.ts';

describe('revoke', () => {
  let idp: AuthorizationServer;
  before(async () => {
    idp = await startAuthorizationServer();
  });
  after(() => idp.close());

  it('revokes the refresh token at the server (RFC 7009), then deletes the grant', async () => {
    const store = new Keyv();
    const tokens = await connectedManager(idp, 'basic', 'leaving', { store });
    try {
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
    } finally {
      await tokens.close();
    }
  });

  it('deletes the grant even when the server cannot be reached, and says so', async () => {
    const tokens = await connectedManager(idp, 'post', 'offline-revoke', { requestTimeoutMs: 1_000 });
    try {
      await idp.refuseConnections(1_500);
      const error = await rejection(tokens.revoke('offline-revoke'));
      assert.ok(error instanceof ServerUnavailableError, `got ${error}`);
      assert.equal(await tokens.getGrant('offline-revoke'), undefined);
    } finally {
      await idp.listening();
      await tokens.close();
    }
  });
});
