/**
 * The fault matrix: failures injected at the real authorization server's token endpoint, each with
 * the outcome a user must see. "Processed, response lost" faults let the server rotate the refresh
 * token and then drop the answer.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ReauthRequiredError, ServerUnavailableError, type TokenManager, type TokenManagerEvents } from 'offline-tokens';
import { startAuthorizationServer, type AuthorizationServer, type TokenEndpointFault } from './support/authorization-server.ts';
import { rejection, withManager } from './support/harness.ts';

const HOUR_MS = 3_600_000;

describe('fault matrix (server with introspection)', () => {
  let idp: AuthorizationServer;
  before(async () => {
    idp = await startAuthorizationServer();
  });
  after(() => idp.close());

  /** Runs `fn` with a manager whose grant for `key` has expired (counters reset); closes it afterwards. */
  function withExpiredManager(key: string, fn: (tokens: TokenManager) => Promise<void>, retryMinDelayMs = 10): Promise<void> {
    return withManager({ idp, connect: key, options: { requestTimeoutMs: 1_000, retryMinDelayMs } }, async (tokens, clock) => {
      idp.resetCounters();
      clock.advance(HOUR_MS);
      await fn(tokens);
    });
  }

  const recoverable: Array<[string, TokenEndpointFault[]]> = [
    ['500 twice', [{ kind: 'respond', status: 500, body: '{"error":"server_error"}' }, { kind: 'respond', status: 500, body: 'oops' }]],
    ['503 with Retry-After', [{ kind: 'respond', status: 503, headers: { 'retry-after': '1' } }]],
    ['429 twice', [{ kind: 'respond', status: 429 }, { kind: 'respond', status: 429, headers: { 'retry-after': '0' } }]],
    ['502 from a gateway', [{ kind: 'respond', status: 502, body: '<html>bad gateway</html>' }]],
    ['400 temporarily_unavailable', [{ kind: 'respond', status: 400, body: '{"error":"temporarily_unavailable"}' }]],
    ['connection reset before the server read the request', [{ kind: 'drop-before' }, { kind: 'drop-before' }]],
    ['timeout while the server had not started on the request', [{ kind: 'delay', ms: 1_500 }]],
  ];
  for (const [name, faults] of recoverable) {
    it(`${name}: retried within the deadline, a token in the end, nothing presented twice`, async () => {
      await withExpiredManager(`recover-${name}`, async (tokens) => {
        try {
          idp.faults.push(...faults);
          assert.ok(await tokens.getAccessToken(`recover-${name}`));
          assert.equal(idp.faults.length, 0);
          assert.equal(idp.counters.refreshSuccesses, 1);
          assert.equal(idp.counters.reusedRefreshTokens, 0);
          assert.equal((await tokens.getGrant(`recover-${name}`))?.rotations, 1);
        } finally {
          idp.faults.length = 0;
        }
      });
    });
  }

  it('connection refused for a moment: retried, a token in the end', async () => {
    await withExpiredManager('refused', async (tokens) => {
      try {
        await idp.refuseConnections(300);
        assert.ok(await tokens.getAccessToken('refused'));
        assert.equal(idp.counters.refreshSuccesses, 1);
      } finally {
        await idp.listening();
      }
    }, 100);
  });

  for (const fault of [{ kind: 'drop-after' }, { kind: 'timeout-after-processing' }] as const) {
    it(`processed, response lost (${fault.kind}): rotation_lost, the old refresh token never presented again`, async () => {
      await withExpiredManager(`lost-${fault.kind}`, async (tokens) => {
        const events: Array<TokenManagerEvents['reauthRequired']> = [];
        tokens.on('reauthRequired', (event) => events.push(event));
        const introspectionsBefore = idp.counters.introspections;
        idp.faults.push(fault.kind === 'drop-after' ? { kind: 'drop-after' } : { kind: 'slow-response', ms: 1_500 });
        const error = await rejection(tokens.getAccessToken(`lost-${fault.kind}`));
        assert.ok(error instanceof ReauthRequiredError, `got ${error}`);
        assert.equal(error.reason, 'rotation_lost');
        assert.equal(idp.counters.refreshSuccesses, 1, 'the server rotated once');
        assert.equal(idp.counters.reusedRefreshTokens, 0, 'the rotated-away token was not presented again');
        assert.ok(idp.counters.introspections > introspectionsBefore, 'the loss was confirmed at the server');
        assert.equal((await tokens.getGrant(`lost-${fault.kind}`))?.reauthReason, 'rotation_lost');
        assert.deepEqual(events, [{ key: `lost-${fault.kind}`, reason: 'rotation_lost' }]);
      });
    });
  }

  it('rotation lost during a background refresh: the valid access token is served until it expires', async () => {
    await withManager({ idp, connect: 'serve-on' }, async (tokens, clock) => {
      const original = await tokens.getAccessToken('serve-on');
      clock.advance(HOUR_MS - 20_000); // inside the refresh window, 20 s of validity left
      idp.faults.push({ kind: 'drop-after' });
      const reauth = new Promise((resolve) => tokens.on('reauthRequired', resolve));
      assert.equal(await tokens.getAccessToken('serve-on'), original);
      await reauth;
      assert.equal(await tokens.getAccessToken('serve-on'), original, 'still valid: still served');
      clock.advance(20_000);
      const error = await rejection(tokens.getAccessToken('serve-on'));
      assert.ok(error instanceof ReauthRequiredError && error.reason === 'rotation_lost');
    });
  });

  it('server down during a background refresh: callers keep the valid token, then get ServerUnavailableError once it expired', async () => {
    await withManager({ idp, connect: 'keep-serving', options: { refreshTimeoutMs: 500 } }, async (tokens, clock) => {
      const failures: string[] = [];
      tokens.on('refreshFailed', ({ error }) => failures.push(error.code));
      try {
        const original = await tokens.getAccessToken('keep-serving');
        clock.advance(HOUR_MS - 20_000);
        for (let i = 0; i < 200; i++) idp.faults.push({ kind: 'respond', status: 503 });
        assert.equal(await tokens.getAccessToken('keep-serving'), original);
        while (failures.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
        assert.deepEqual(failures, ['ERR_SERVER_UNAVAILABLE']);
        assert.equal(await tokens.getAccessToken('keep-serving'), original, 'a failed background refresh does not fail callers');
        clock.advance(20_000);
        const error = await rejection(tokens.getAccessToken('keep-serving'));
        assert.ok(error instanceof ServerUnavailableError, `got ${error}`);
        assert.ok(error.cause !== undefined, 'the cause is kept');
        idp.faults.length = 0;
        assert.notEqual(await tokens.getAccessToken('keep-serving'), original, 'recovers when the server is back');
      } finally {
        idp.faults.length = 0;
      }
    });
  });
});

describe('fault matrix (server without introspection)', () => {
  let idp: AuthorizationServer;
  before(async () => {
    idp = await startAuthorizationServer({ introspection: false });
  });
  after(() => idp.close());

  it('never processed (reset before reading): retried once, a token in the end', async () => {
    await withManager({ idp, connect: 'blind-ok' }, async (tokens, clock) => {
      idp.resetCounters();
      clock.advance(HOUR_MS);
      idp.faults.push({ kind: 'drop-before' });
      assert.ok(await tokens.getAccessToken('blind-ok'));
      assert.equal(idp.counters.refreshSuccesses, 1);
    });
  });

  it('processed, response lost: retried once, the invalid_grant is reported as rotation_lost', async () => {
    await withManager({ idp, connect: 'blind-lost' }, async (tokens, clock) => {
      idp.resetCounters();
      clock.advance(HOUR_MS);
      idp.faults.push({ kind: 'drop-after' });
      const error = await rejection(tokens.getAccessToken('blind-lost'));
      assert.ok(error instanceof ReauthRequiredError, `got ${error}`);
      assert.equal(error.reason, 'rotation_lost');
      assert.equal(idp.counters.refreshRequests, 2, 'one retry, no more');
      assert.equal(idp.counters.reusedRefreshTokens, 1, 'the documented cost without introspection: one reuse');
    });
  });
});

describe('fault matrix (discovery: false, the metadata given)', () => {
  let idp: AuthorizationServer;
  let metadata: Record<string, unknown>;
  before(async () => {
    idp = await startAuthorizationServer();
    metadata = await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json() as Record<string, unknown>;
  });
  after(() => idp.close());

  /** Runs `fn` with a manager (no discovery) whose grant for `key` has expired (counters reset); closes it afterwards. */
  function withExpiredManager(key: string, fn: (tokens: TokenManager) => Promise<void>): Promise<void> {
    return withManager({ idp, connect: key, options: { requestTimeoutMs: 1_000, discovery: false, metadata } }, async (tokens, clock) => {
      idp.resetCounters();
      clock.advance(HOUR_MS);
      await fn(tokens);
    });
  }

  it('a 502 and a reset before reading: recovered, a token in the end, no discovery request', async () => {
    await withExpiredManager('static-recover', async (tokens) => {
      idp.faults.push({ kind: 'respond', status: 502, body: 'bad gateway' }, { kind: 'drop-before' });
      assert.ok(await tokens.getAccessToken('static-recover'));
      assert.equal(idp.counters.refreshSuccesses, 1);
      assert.equal(idp.counters.reusedRefreshTokens, 0);
    });
  });

  it('processed, response lost: introspection (shown after the consent to know refresh tokens) says rotated → rotation_lost, no reuse', async () => {
    await withExpiredManager('static-lost', async (tokens) => {
      idp.faults.push({ kind: 'drop-after' });
      const error = await rejection(tokens.getAccessToken('static-lost'));
      assert.ok(error instanceof ReauthRequiredError && error.reason === 'rotation_lost', `got ${error}`);
      assert.equal(idp.counters.refreshSuccesses, 1);
      assert.equal(idp.counters.reusedRefreshTokens, 0);
      assert.ok(idp.counters.introspections >= 1, 'the loss was confirmed at the server');
    });
  });
});
