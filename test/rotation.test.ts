import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Keyv from 'keyv';
import { createInProcessLock } from 'offline-tokens';
import { startAuthorizationServer, type AuthorizationServer } from './support/authorization-server.ts';
import { connect, createClock, grantKey, withManager } from './support/harness.ts';

/** Reads the refresh token stored for `key` straight from the Keyv, as a second process would. */
async function storedRefreshToken(store: Keyv, key: string): Promise<string> {
  return (JSON.parse((await store.get(grantKey(key))) as string) as { refreshToken: string }).refreshToken;
}

describe('refresh token rotation', () => {
  let idp: AuthorizationServer;
  let dir: string;
  before(async () => {
    idp = await startAuthorizationServer();
    dir = mkdtempSync(join(tmpdir(), 'offline-tokens-'));
  });
  after(async () => {
    await idp.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores every rotated refresh token and never presents one twice', async () => {
    const store = new Keyv();
    await withManager({ idp, connect: 'rotating', options: { store } }, async (tokens, clock) => {
      idp.resetCounters();
      const refreshTokens = [await storedRefreshToken(store, 'rotating')];
      const accessTokens = new Set<string>();
      for (let i = 0; i < 6; i++) {
        clock.advance(3_600_000);
        accessTokens.add(await tokens.getAccessToken('rotating'));
        refreshTokens.push(await storedRefreshToken(store, 'rotating'));
      }
      assert.equal(idp.counters.refreshRequests, 6);
      assert.equal(idp.counters.refreshSuccesses, 6);
      assert.equal(idp.counters.reusedRefreshTokens, 0);
      assert.equal(new Set(refreshTokens).size, 7, 'each rotation stored a new refresh token');
      assert.equal(accessTokens.size, 6);
      const info = await tokens.getGrant('rotating');
      assert.equal(info?.rotations, 6);
      assert.equal(info?.refreshExpiresAt, clock.now() + 14 * 86_400_000, 'sliding lifetime restarts at each rotation');
    });
  });

  it('a second manager on the same SQLite file resumes without a new login', async () => {
    const clock = createClock();
    const options = { store: undefined, sqlitePath: join(dir, 'tokens.sqlite') };
    const firstToken = await withManager({ idp, client: 'basic', clock, connect: 'resumed', options }, (first) => first.getAccessToken('resumed'));

    idp.resetCounters();
    await withManager({ idp, client: 'basic', clock, options }, async (second) => {
      assert.equal(await second.getAccessToken('resumed'), firstToken, 'the stored access token is reused');
      clock.advance(3_600_000);
      const refreshed = await second.getAccessToken('resumed');
      assert.notEqual(refreshed, firstToken);
      assert.equal(idp.counters.codeExchanges, 0, 'no new consent');
      assert.equal(idp.counters.refreshSuccesses, 1);
    });
  });

  it('runs exactly one refresh for 1,000 concurrent callers at expiry and keeps the grant alive', async () => {
    await withManager({ idp, connect: 'crowd' }, async (tokens, clock) => {
      idp.resetCounters();
      clock.advance(3_600_000);
      const results = await Promise.all(Array.from({ length: 1_000 }, () => tokens.getAccessToken('crowd')));
      assert.equal(new Set(results).size, 1);
      assert.equal(idp.counters.refreshRequests, 1);
      assert.deepEqual(idp.counters.refreshErrors, {});
      clock.advance(3_600_000);
      await tokens.getAccessToken('crowd');
      assert.equal(idp.counters.refreshSuccesses, 2, 'the grant is still alive');
    });
  });

  it('refreshes once in the background inside the refresh window, handing out the valid token meanwhile', async () => {
    await withManager({ idp, connect: 'ahead', options: { refreshWindowMs: 60_000 } }, async (tokens, clock) => {
      const original = await tokens.getAccessToken('ahead');
      idp.resetCounters();
      clock.advance(3_600_000 - 10_000); // 10 s before expiry: inside the window, still usable
      const refreshed = new Promise<void>((resolve) => tokens.on('refreshed', () => resolve()));
      const during = await Promise.all(Array.from({ length: 100 }, () => tokens.getAccessToken('ahead')));
      assert.deepEqual(new Set(during), new Set([original]), 'callers did not wait for the refresh');
      await refreshed;
      assert.equal(idp.counters.refreshRequests, 1);
      assert.notEqual(await tokens.getAccessToken('ahead'), original);
    });
  });

  it('fences writes: a refresh that finishes after a new consent never overwrites the newer grant', async () => {
    const store = new Keyv();
    // Two managers that do not share a lock: as if the refresher's lease had run out.
    await withManager({ idp, connect: 'fenced', options: { store, lock: createInProcessLock() } }, async (refresher, clock) => {
      await withManager({ idp, clock, options: { store, lock: createInProcessLock() } }, async (consenter) => {
        clock.advance(3_600_000);
        idp.faults.push({ kind: 'delay', ms: 300 });
        const refreshing = refresher.getAccessToken('fenced');
        await connect(consenter, idp, 'fenced'); // the user consents again meanwhile
        const newer = await storedRefreshToken(store, 'fenced');
        const served = await refreshing;
        assert.equal(await storedRefreshToken(store, 'fenced'), newer, 'the new consent was not overwritten');
        assert.equal(served, await consenter.getAccessToken('fenced'), 'the refresher adopted the newer grant');
        assert.equal((await refresher.getGrant('fenced'))?.rotations, 0);
      });
    });
  });

  it('keeps the old refresh token when the response carries none', async () => {
    const store = new Keyv();
    await withManager({ idp, connect: 'no-rotation', options: { store } }, async (tokens, clock) => {
      const before = await storedRefreshToken(store, 'no-rotation');
      idp.faults.push({ kind: 'respond', status: 200, body: JSON.stringify({ access_token: 'plain-access-token', token_type: 'Bearer', expires_in: 3600 }) });
      clock.advance(3_600_000);
      assert.equal(await tokens.getAccessToken('no-rotation'), 'plain-access-token');
      assert.equal(await storedRefreshToken(store, 'no-rotation'), before);
      clock.advance(3_600_000);
      assert.notEqual(await tokens.getAccessToken('no-rotation'), 'plain-access-token', 'the kept refresh token still works');
    });
  });
});
