import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Keyv from 'keyv';
import {
  createTokenManager,
  OAuthError,
  ReauthRequiredError,
  ServerUnavailableError,
  StoreError,
  type TokenManagerEvents,
} from 'offline-tokens';
import { startAuthorizationServer, type AuthorizationServer } from './support/authorization-server.ts';
import { connect, connectedManager, createClock, managerOptions, rejection } from './support/harness.ts';

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
    const clock = createClock();
    const tokens = await connectedManager(idp, 'post', 'retry-after', { now: clock.now });
    try {
      idp.resetCounters();
      for (let i = 0; i < 2; i++) idp.faults.push({ kind: 'respond', status: 503, headers: { 'retry-after': '1' } });
      clock.advance(3_600_000);
      const started = performance.now();
      const token = await tokens.getAccessToken('retry-after');
      assert.ok(token.length > 0);
      assert.equal(idp.faults.length, 0, 'both faults were hit');
      assert.equal(idp.counters.refreshSuccesses, 1);
      assert.ok(performance.now() - started >= 1_900, 'Retry-After was honoured twice');
    } finally {
      await tokens.close();
    }
  });

  it('gives up with ServerUnavailableError when the server stays down past the deadline, grant intact', async () => {
    const clock = createClock();
    const tokens = await connectedManager(idp, 'post', 'down', { now: clock.now, refreshTimeoutMs: 300, retryMinDelayMs: 20 });
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
      await tokens.close();
    }
  });

  it('reports a grant revoked at the server as ReauthRequiredError once, persists it, and never loops', async () => {
    const clock = createClock();
    const store = new Keyv();
    const tokens = await connectedManager(idp, 'basic', 'revoked', { now: clock.now, store });
    const events: Array<TokenManagerEvents['reauthRequired']> = [];
    tokens.on('reauthRequired', (event) => events.push(event));
    try {
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
    } finally {
      await tokens.close();
    }
  });

  it('reports no grant for an unknown key', async () => {
    const tokens = await createTokenManager(managerOptions(idp, 'post'));
    try {
      const error = await rejection(tokens.getAccessToken('nobody'));
      assert.ok(error instanceof ReauthRequiredError);
      assert.equal(error.reason, 'no_grant');
    } finally {
      await tokens.close();
    }
  });

  it('turns a failing store into StoreError, not ReauthRequiredError, and leaves the grant untouched', async () => {
    const clock = createClock();
    const flaky = new FlakyStore();
    const tokens = await connectedManager(idp, 'post', 'flaky', { now: clock.now, store: new Keyv({ store: flaky }) });
    try {
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
    } finally {
      await tokens.close();
    }
  });

  it('does not retry invalid_client and reports it as OAuthError', async () => {
    const clock = createClock();
    const tokens = await connectedManager(idp, 'post', 'bad-client', { now: clock.now });
    try {
      idp.faults.push({ kind: 'respond', status: 401, body: '{"error":"invalid_client","error_description":"client authentication failed"}' });
      clock.advance(3_600_000);
      const error = await rejection(tokens.getAccessToken('bad-client'));
      assert.ok(error instanceof OAuthError, `got ${error}`);
      assert.equal(error.error, 'invalid_client');
      assert.equal((await tokens.getGrant('bad-client'))?.status, 'active', 'not a reason to drop the grant');
    } finally {
      await tokens.close();
    }
  });

  it('rejects with the caller signal reason without cancelling the shared refresh', async () => {
    const clock = createClock();
    const tokens = await connectedManager(idp, 'post', 'abort', { now: clock.now });
    try {
      idp.faults.push({ kind: 'delay', ms: 200 });
      clock.advance(3_600_000);
      const controller = new AbortController();
      const waiting = tokens.getAccessToken('abort', { signal: controller.signal });
      const other = tokens.getAccessToken('abort');
      const reason = new Error('caller gave up');
      controller.abort(reason);
      assert.equal(await rejection(waiting), reason);
      assert.ok(await other);
    } finally {
      await tokens.close();
    }
  });
});
