import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Keyv from 'keyv';
import type { GrantInfo } from 'offline-tokens';
import { startAuthorizationServer, type AuthorizationServer } from './support/authorization-server.ts';
import { connect, rejection, withManager } from './support/harness.ts';

/** A Map store that counts how many entries its iterator handed out. */
class CountingMap extends Map<string, unknown> {
  pulled = 0;
  override *[Symbol.iterator](): MapIterator<[string, unknown]> {
    for (const entry of super.entries()) {
      this.pulled++;
      yield entry;
    }
  }
}

describe('listGrants and getToken', () => {
  let idp: AuthorizationServer;
  before(async () => {
    idp = await startAuthorizationServer();
  });
  after(() => idp.close());

  it('getToken resolves the token with its type, expiry and scope, cached and refreshed', async () => {
    await withManager({ idp, connect: 'user-1', options: { scope: 'email' } }, async (tokens, clock) => {
      const first = await tokens.getToken('user-1');
      assert.equal(first.tokenType, 'Bearer');
      assert.equal(first.expiresAt, clock.now() + 3_600_000);
      assert.match(first.scope, /email/);
      assert.ok(idp.issuedTokens.has(first.accessToken));
      assert.equal(first.accessToken, await tokens.getAccessToken('user-1'));
      // The cached path hands out the same resolved promise every time: nothing allocated per call.
      assert.equal(tokens.getToken('user-1'), tokens.getToken('user-1'));

      idp.resetCounters();
      clock.advance(3_600_000);
      const second = await tokens.getToken('user-1');
      assert.equal(idp.counters.refreshSuccesses, 1);
      assert.notEqual(second.accessToken, first.accessToken);
      assert.equal(second.expiresAt, clock.now() + 3_600_000);
      assert.equal(second.accessToken, await tokens.getAccessToken('user-1'));

      const forced = await tokens.getToken('user-1', { forceRefresh: true });
      assert.equal(idp.counters.refreshSuccesses, 2);
      assert.notEqual(forced.accessToken, second.accessToken);
    });
  });

  it('lists every grant as metadata, filtered by status', async () => {
    await withManager({ idp }, async (tokens) => {
      for (const key of ['a', 'b', 'c']) await connect(tokens, idp, key);
      await idp.revokeAllGrants();
      await rejection(tokens.getAccessToken('b', { forceRefresh: true }));

      const all: GrantInfo[] = [];
      for await (const grant of tokens.listGrants()) all.push(grant);
      assert.deepEqual(all.map((g) => g.key).sort(), ['a', 'b', 'c']);
      for (const grant of all) assert.ok(!('refreshToken' in grant) && !('accessToken' in grant), 'no token in a listing');

      const dead: string[] = [];
      for await (const grant of tokens.listGrants({ status: 'reauth_required' })) dead.push(grant.key);
      assert.deepEqual(dead, ['b']);
      const active: string[] = [];
      for await (const grant of tokens.listGrants({ status: 'active' })) active.push(grant.key);
      assert.deepEqual(active.sort(), ['a', 'c']);

      await assert.rejects(tokens.listGrants({ status: 'dead' as never }).next(), { code: 'ERR_INVALID_OPTIONS' });
    });
  });

  it('streams from the store: breaking early reads only what was needed; a signal stops it', async () => {
    const map = new CountingMap();
    await withManager({ idp, connect: 'seed', options: { store: new Keyv({ store: map }) } }, async (tokens) => {
      const [storeKey, seed] = [...map.entries()].find(([k]) => k.includes('grant:'))!;
      const record = JSON.parse(JSON.parse(seed as string).value) as Record<string, unknown>;
      const total = 5_000;
      for (let i = 0; i < total; i++) {
        const key = `user-${i}`;
        map.set(storeKey.replace('grant:seed', `grant:${key}`), JSON.stringify({ value: JSON.stringify({ ...record, key }), expires: null }));
      }
      map.pulled = 0;
      let seen = 0;
      for await (const grant of tokens.listGrants()) {
        assert.equal(typeof grant.key, 'string');
        if (++seen === 10) break;
      }
      assert.ok(map.pulled < 20, `read ${map.pulled} of ${total + 1} entries to list 10`);

      map.pulled = 0;
      let count = 0;
      for await (const _ of tokens.listGrants()) count++;
      assert.equal(count, total + 1);

      const controller = new AbortController();
      const reason = new Error('stop');
      const listing = tokens.listGrants({ signal: controller.signal });
      await listing.next();
      controller.abort(reason);
      await assert.rejects(listing.next(), (error) => error === reason);
    });
  });
});
