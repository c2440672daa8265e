/**
 * Rollback after a restart: what a store rolled back to an older copy (a restored backup, someone
 * with write access replaying an older encrypted record) costs a process that never saw the newer
 * copy. The rollback marks are per process on purpose (README, Security: a mark kept in the same
 * store is rolled back with it); this pins down the bounded outcome: the grant is lost to the
 * provider's reuse detection, no token comes out of the old copy after its access token expired,
 * and the SDK says so with a typed error.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Keyv from 'keyv';
import { createTokenManager, generateEncryptionKey, ReauthRequiredError, RecordError, type TokenManagerOptions } from 'offline-tokens';
import { startAuthorizationServer, type AuthorizationServer } from './support/authorization-server.ts';
import { connect, createClock, managerOptions, rejection, type TestClock } from './support/harness.ts';

const HOUR_MS = 3_600_000;

describe('a store rolled back, read by a process started after the rollback', () => {
  let idp: AuthorizationServer;
  const encryptionKey = generateEncryptionKey();
  before(async () => {
    idp = await startAuthorizationServer();
  });
  after(() => idp.close());

  function options(store: Map<string, unknown>, clock: TestClock): TokenManagerOptions {
    return managerOptions(idp, 'post', {
      store: new Keyv({ store }),
      now: clock.now,
      encryption: { keys: { k1: encryptionKey }, currentKeyId: 'k1' },
    });
  }

  it('whole-store backup restored: the running process refuses it, a restarted one loses the grant to reuse detection (typed, no token)', async () => {
    const data = new Map<string, unknown>();
    const clock = createClock();
    const running = await createTokenManager(options(data, clock));
    let restarted: Awaited<ReturnType<typeof createTokenManager>> | undefined;
    try {
      await connect(running, idp, 'frank');
      clock.advance(HOUR_MS);
      await running.getAccessToken('frank');
      const backup = new Map(data); // every key of the store, as a backup holds them
      const newest = await running.getAccessToken('frank', { forceRefresh: true });
      assert.equal((await running.getGrant('frank'))?.rotations, 2);
      idp.resetCounters();

      data.clear();
      for (const [storeKey, value] of backup) data.set(storeKey, value); // the backup is restored
      restarted = await createTokenManager(options(data, clock)); // a process that never saw rotation 2

      // Still within the old copy's access-token life: the restarted process serves that (older, still
      // valid) access token without asking the server; the running one already holds the newest.
      assert.ok(await running.getAccessToken('frank') === newest);
      assert.ok(idp.issuedTokens.has(await restarted.getAccessToken('frank')));
      assert.equal(idp.counters.refreshRequests, 0);

      clock.advance(HOUR_MS);
      const refused = await rejection(running.getAccessToken('frank'));
      assert.ok(refused instanceof RecordError, `the running process refuses the older copy: got ${refused}`);
      assert.equal(idp.counters.refreshRequests, 0, 'the running process presented nothing');

      const lost = await rejection(restarted.getAccessToken('frank'));
      assert.ok(lost instanceof ReauthRequiredError && lost.reason === 'invalid_grant', `got ${lost}`);
      assert.equal(idp.counters.refreshRequests, 1, 'the restarted process presented the rotated-away refresh token once');
      assert.equal(idp.counters.reusedRefreshTokens, 1, 'the server saw the reuse (and revoked the grant)');
      assert.equal((await restarted.getGrant('frank'))?.status, 'reauth_required', 'recorded, so nobody presents it again');
      const again = await rejection(restarted.getAccessToken('frank'));
      assert.ok(again instanceof ReauthRequiredError);
      assert.equal(idp.counters.refreshRequests, 1, 'never presented a second time');
    } finally {
      await running.close();
      await restarted?.close();
    }
  });
});
