/**
 * The store goes down while a rotated refresh token is being persisted (a real Redis, frozen with
 * SIGSTOP right after the refresh request left): the new refresh token is kept in memory, its write is
 * retried, events say so, callers get StoreError (never a token whose refresh token is not stored),
 * and once Redis is back the grant is persisted and works across a restart.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { StoreError, type TokenManagerEvents } from 'offline-tokens';
import { createRedisStore } from 'offline-tokens/redis';
import { startAuthorizationServer, type AuthorizationServer } from './support/authorization-server.ts';
import { connect, createClock, rejection, withManager } from './support/harness.ts';
import { startRedis, type RedisServer } from './support/servers.ts';

/** Short, so that the frozen write fails fast; long enough for a loaded machine's Redis round trips. */
const STORE_TIMEOUT_MS = 1_000;

describe('store outage while persisting a rotation', () => {
  let idp: AuthorizationServer;
  let redis: RedisServer;
  before(async () => {
    [idp, redis] = await Promise.all([startAuthorizationServer(), startRedis()]);
  });
  after(async () => {
    redis?.thaw();
    await Promise.all([idp?.close(), redis?.stop()]);
  });

  it('keeps the new refresh token in memory, retries the write, and persists it once Redis is back', { timeout: 60_000 }, async () => {
    const clock = createClock();
    const store = createRedisStore({ url: redis.url });
    // Connected before the manager's first operation, which must finish within the store timeout.
    await store.get('warm-up');
    try {
      const accessToken = await withManager({ idp, clock, options: { store, storeTimeoutMs: STORE_TIMEOUT_MS } }, async (tokens) => {
        const failed: Array<TokenManagerEvents['persistFailed']> = [];
        const persisted: Array<TokenManagerEvents['persisted']> = [];
        tokens.on('persistFailed', (event) => failed.push(event));
        tokens.on('persisted', (event) => persisted.push(event));
        try {
          await connect(tokens, idp, 'outage');
          idp.resetCounters();
          clock.advance(3_600_000);

          idp.faults.push({ kind: 'delay', ms: 200 });
          const call = rejection(tokens.getAccessToken('outage'));
          while (idp.faults.length > 0) await new Promise((resolve) => setTimeout(resolve, 2));
          redis.freeze(); // the request is at the server; the write of its result will hang
          const error = await call;
          assert.ok(error instanceof StoreError, `got ${error}`);
          assert.equal(idp.counters.refreshSuccesses, 1, 'the server rotated');
          assert.ok(failed.length >= 1 && failed[0]!.key === 'outage', 'persistFailed was emitted');
          assert.ok(await rejection(tokens.getAccessToken('outage')) instanceof StoreError, 'no token while the refresh token is not stored');
          assert.equal(idp.counters.refreshRequests, 1, 'and no second refresh with the old token');
          assert.equal((await tokens.getGrant('outage'))?.rotations, 1, 'the rotated grant is held in memory');

          redis.thaw();
          while (persisted.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
          assert.deepEqual(persisted, [{ key: 'outage', rotations: 1 }]);
          return await tokens.getAccessToken('outage');
        } finally {
          redis.thaw();
        }
      });

      // A restart: a new manager with an empty cache finds the rotated grant in Redis.
      const restartedStore = createRedisStore({ url: redis.url });
      await restartedStore.get('warm-up');
      try {
        await withManager({ idp, clock, options: { store: restartedStore, storeTimeoutMs: STORE_TIMEOUT_MS } }, async (restarted) => {
          assert.equal(await restarted.getAccessToken('outage'), accessToken);
          clock.advance(3_600_000);
          assert.ok(await restarted.getAccessToken('outage'));
          assert.equal(idp.counters.refreshSuccesses, 2);
          assert.equal(idp.counters.reusedRefreshTokens, 0);
        });
      } finally {
        await restartedStore.disconnect();
      }
    } finally {
      await store.disconnect();
    }
  });
});
