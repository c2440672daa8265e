import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Keyv from 'keyv';
import { createInProcessLock, ReauthRequiredError, type TokenManagerEvents } from 'offline-tokens';
import { startAuthorizationServer, type AuthorizationServer } from './support/authorization-server.ts';
import { connect, rejection, withManager } from './support/harness.ts';

const DAY_MS = 86_400_000;

/** A Keyv memory store that counts reads. */
class CountingMap extends Map<string, unknown> {
  reads = 0;
  override get(key: string): unknown {
    this.reads++;
    return super.get(key);
  }
}

describe('keep-alive, bounded cache, grant lifetime', () => {
  let idp: AuthorizationServer;
  before(async () => {
    idp = await startAuthorizationServer();
  });
  after(() => idp.close());

  it('evicts the least recently used grant beyond maxCachedGrants and re-reads it from the store', async () => {
    const map = new CountingMap();
    await withManager({ idp, options: { store: new Keyv({ store: map }), maxCachedGrants: 2 } }, async (tokens) => {
      for (const key of ['a', 'b', 'c']) await connect(tokens, idp, key);
      // The cache now holds b and c; a was evicted.
      const reads = map.reads;
      await tokens.getAccessToken('b');
      await tokens.getAccessToken('c');
      assert.equal(map.reads, reads, 'cached grants need no store read');
      await tokens.getAccessToken('a');
      assert.equal(map.reads, reads + 1, 'the evicted grant is read from the store again');
      await tokens.getAccessToken('a');
      assert.equal(map.reads, reads + 1);
    });
  });

  it('rotates exactly the grants whose refresh token would lapse, once across two managers', async () => {
    const options = { store: new Keyv(), lock: createInProcessLock() };
    await withManager({ idp, options }, async (first, clock) => {
      await withManager({ idp, clock, options }, async (second) => {
        await connect(first, idp, 'old');
        clock.advance(5 * DAY_MS);
        await connect(first, idp, 'young');
        const a = first.startKeepAlive({ leadTimeMs: 2 * DAY_MS });
        const b = second.startKeepAlive({ leadTimeMs: 2 * DAY_MS });
        await Promise.all([a.ready, b.ready]);
        assert.equal(b.size, 2, 'the second manager found both grants by scanning the store');

        clock.advance(7 * DAY_MS + 1); // day 12: 'old' lapses on day 14, 'young' on day 19
        idp.resetCounters();
        const [reportA, reportB] = await Promise.all([a.runDue(), b.runDue()]);
        assert.equal(reportA.due + reportB.due, 2, 'each manager found only the old grant due');
        assert.equal(idp.counters.refreshRequests, 1, 'one rotation across both managers');
        assert.equal((await first.getGrant('old'))?.rotations, 1);
        assert.equal((await first.getGrant('young'))?.rotations, 0);
        assert.equal((await first.getGrant('old'))?.refreshExpiresAt, clock.now() + 14 * DAY_MS);

        idp.resetCounters();
        assert.deepEqual(await a.runDue(), { due: 0, rotated: 0, dead: 0, failed: 0 }, 'nothing due right after');
        clock.advance(5 * DAY_MS); // day 17: 'young' is due, 'old' not (rotated on day 12)
        const report = await a.runDue();
        assert.equal(report.due, 1);
        assert.equal(idp.counters.refreshRequests, 1);
        assert.equal((await first.getGrant('young'))?.rotations, 1);
      });
    });
  });

  it('drops a dead grant from the schedule', async () => {
    await withManager({ idp, connect: 'doomed' }, async (tokens, clock) => {
      const keepAlive = tokens.startKeepAlive({ maxIdleMs: DAY_MS });
      await keepAlive.ready;
      await idp.revokeAllGrants();
      clock.advance(DAY_MS);
      const report = await keepAlive.runDue();
      assert.equal(report.dead, 1);
      assert.equal(keepAlive.size, 0);
    });
  });

  it('warns before the absolute grant lifetime ends, then reports it expired without a request', async () => {
    await withManager({ idp, options: { maxGrantLifetimeMs: 30 * DAY_MS, reauthWarningMs: 3 * DAY_MS } }, async (tokens, clock) => {
      const warnings: Array<TokenManagerEvents['reauthSoon']> = [];
      tokens.on('reauthSoon', (event) => warnings.push(event));
      await connect(tokens, idp, 'mortal');
      const createdAt = (await tokens.getGrant('mortal'))!.createdAt;
      for (let day = 1; day <= 26; day++) {
        clock.advance(DAY_MS);
        await tokens.getAccessToken('mortal');
      }
      assert.deepEqual(warnings, [], 'no warning before the last 3 days');
      clock.advance(2 * DAY_MS); // day 28
      await tokens.getAccessToken('mortal');
      await tokens.getAccessToken('mortal', { forceRefresh: true });
      assert.deepEqual(warnings, [{ key: 'mortal', at: createdAt + 30 * DAY_MS, reason: 'max_lifetime' }], 'warned once');
      clock.advance(2 * DAY_MS);
      idp.resetCounters();
      const error = await rejection(tokens.getAccessToken('mortal'));
      assert.ok(error instanceof ReauthRequiredError && error.reason === 'expired', `got ${error}`);
      assert.equal(idp.counters.refreshRequests, 0);
    });
  });
});
