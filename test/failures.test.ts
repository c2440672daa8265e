import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Keyv from 'keyv';
import {
  OAuthError,
  ReauthRequiredError,
  ServerUnavailableError,
  StoreError,
  type TokenManagerEvents,
} from 'offline-tokens';
import { startAuthorizationServer, type AuthorizationServer } from './support/authorization-server.ts';
import { connect, rejection, withManager } from './support/harness.ts';

/** A Keyv store adapter whose reads and writes can be made to fail. */
class FlakyStore extends Map<string, unknown> {
  failing = false;
  override get(key: string): unknown {
    if (this.failing) throw new Error('store unreachable');
    return super.get(key);
  }
  override set(key: string, value: unknown): this {
    if (this.failing) throw new Error('store unreachable');
    return super.set(key, value);
  }
}

describe('failures', () => {
  let idp: AuthorizationServer;
  before(async () => {
    idp = await startAuthorizationServer();
  });
  after(() => idp.close());

  it('retries a 503 with Retry-After, twice, then hands out the token', async () => {
    await withManager({ idp, connect: 'retry-after' }, async (tokens, clock) => {
      idp.resetCounters();
      for (let i = 0; i < 2; i++) idp.faults.push({ kind: 'respond', status: 503, headers: { 'retry-after': '1' } });
      clock.advance(3_600_000);
      const started = performance.now();
      const token = await tokens.getAccessToken('retry-after');
      assert.ok(token.length > 0);
      assert.equal(idp.faults.length, 0, 'both faults were hit');
      assert.equal(idp.counters.refreshSuccesses, 1);
      assert.ok(performance.now() - started >= 1_900, 'Retry-After was honoured twice');
    });
  });

  it('gives up with ServerUnavailableError when the server stays down past the deadline, grant intact', async () => {
    await withManager({ idp, connect: 'down', options: { refreshTimeoutMs: 300, retryMinDelayMs: 20 } }, async (tokens, clock) => {
      try {
        for (let i = 0; i < 50; i++) idp.faults.push({ kind: 'respond', status: 500, body: '{"error":"server_error"}' });
        clock.advance(3_600_000);
        const error = await rejection(tokens.getAccessToken('down'));
        assert.ok(error instanceof ServerUnavailableError, `got ${error}`);
        assert.equal((await tokens.getGrant('down'))?.status, 'active');
        idp.faults.length = 0;
        assert.ok(await tokens.getAccessToken('down'), 'works once the server is back');
      } finally {
        idp.faults.length = 0;
      }
    });
  });

  it('reports a grant revoked at the server as ReauthRequiredError once, persists it, and never loops', async () => {
    await withManager({ idp, client: 'basic', connect: 'revoked' }, async (tokens, clock) => {
      const events: Array<TokenManagerEvents['reauthRequired']> = [];
      tokens.on('reauthRequired', (event) => events.push(event));
      await idp.revokeAllGrants();
      idp.resetCounters();
      clock.advance(3_600_000);
      const error = await rejection(tokens.getAccessToken('revoked'));
      assert.ok(error instanceof ReauthRequiredError);
      assert.equal(error.code, 'ERR_REAUTH_REQUIRED');
      assert.equal(error.reason, 'invalid_grant');
      assert.equal(idp.counters.refreshRequests, 1);
      const info = await tokens.getGrant('revoked');
      assert.equal(info?.status, 'reauth_required', 'the grant is kept, marked');
      assert.equal(info?.reauthReason, 'invalid_grant');
      for (let i = 0; i < 3; i++) {
        const again = await rejection(tokens.getAccessToken('revoked', { forceRefresh: true }));
        assert.ok(again instanceof ReauthRequiredError);
      }
      assert.equal(idp.counters.refreshRequests, 1, 'no further request to the server');
      assert.deepEqual(events, [{ key: 'revoked', reason: 'invalid_grant' }]);
      // A new consent replaces the dead grant.
      await connect(tokens, idp, 'revoked');
      assert.ok(await tokens.getAccessToken('revoked'));
    });
  });

  it('reports no grant for an unknown key', async () => {
    await withManager({ idp }, async (tokens) => {
      const error = await rejection(tokens.getAccessToken('nobody'));
      assert.ok(error instanceof ReauthRequiredError);
      assert.equal(error.reason, 'no_grant');
    });
  });

  it('turns a failing store into StoreError, not ReauthRequiredError, and leaves the grant untouched', async () => {
    const flaky = new FlakyStore();
    await withManager({ idp, connect: 'flaky', options: { store: new Keyv({ store: flaky }) } }, async (tokens, clock) => {
      const before = JSON.stringify([...flaky]);
      idp.resetCounters();
      flaky.failing = true;
      clock.advance(3_600_000);
      const error = await rejection(tokens.getAccessToken('flaky'));
      assert.ok(error instanceof StoreError, `got ${error}`);
      assert.equal(error.code, 'ERR_STORE_UNAVAILABLE');
      assert.equal(idp.counters.refreshRequests, 0, 'no refresh without a store to persist into');
      assert.ok(await rejection(tokens.getGrant('flaky')) instanceof StoreError);
      flaky.failing = false;
      assert.equal(JSON.stringify([...flaky]), before, 'the stored grant is untouched');
      assert.ok(await tokens.getAccessToken('flaky'));
      assert.equal(idp.counters.refreshSuccesses, 1);
    });
  });

  it('does not retry invalid_client and reports it as OAuthError', async () => {
    await withManager({ idp, connect: 'bad-client' }, async (tokens, clock) => {
      idp.faults.push({ kind: 'respond', status: 401, body: '{"error":"invalid_client","error_description":"client authentication failed"}' });
      clock.advance(3_600_000);
      const error = await rejection(tokens.getAccessToken('bad-client'));
      assert.ok(error instanceof OAuthError, `got ${error}`);
      assert.equal(error.error, 'invalid_client');
      assert.equal((await tokens.getGrant('bad-client'))?.status, 'active', 'not a reason to drop the grant');
    });
  });

  it('rejects with the caller signal reason without cancelling the shared refresh', async () => {
    await withManager({ idp, connect: 'abort' }, async (tokens, clock) => {
      idp.faults.push({ kind: 'delay', ms: 200 });
      clock.advance(3_600_000);
      const controller = new AbortController();
      const waiting = tokens.getAccessToken('abort', { signal: controller.signal });
      const other = tokens.getAccessToken('abort');
      const reason = new Error('caller gave up');
      controller.abort(reason);
      assert.equal(await rejection(waiting), reason);
      assert.ok(await other);
    });
  });
});
