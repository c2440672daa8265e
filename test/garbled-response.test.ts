/**
 * A success the SDK cannot use, after the server really rotated: too large, cut short, form-encoded,
 * not JSON, or trickling in slower than the request timeout. Each is an ambiguous outcome, like a lost
 * response: the old refresh token is never presented again (the server counts 0 reuses), and the
 * grant ends as `rotation_lost` (the server did rotate, so introspection says inactive; without
 * introspection the SDK assumes so).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ReauthRequiredError, TokenResponseError } from 'offline-tokens';
import { startAuthorizationServer, type AuthorizationServer, type TokenEndpointFault } from './support/authorization-server.ts';
import { rejection, withManager } from './support/harness.ts';

const HOUR_MS = 3_600_000;

const garbled: Array<[string, TokenEndpointFault]> = [
  ['larger than maxResponseBytes', { kind: 'mutate-response', mutate: (json) => ({ ...json, padding: 'x'.repeat(2 * 1024 * 1024) }) }],
  ['cut short', { kind: 'mutate-response', mutate: (json) => JSON.stringify(json).slice(0, JSON.stringify(json).indexOf('refresh_token') + 10) }],
  ['form-encoded', { kind: 'mutate-response', mutate: (json) => new URLSearchParams(Object.entries(json).map(([name, value]) => [name, String(value)])).toString() }],
  ['an HTML page', { kind: 'mutate-response', mutate: () => '<html><body>Welcome</body></html>' }],
];

for (const introspection of [true, false]) {
  describe(`a garbled success after a real rotation (server ${introspection ? 'with' : 'without'} introspection)`, () => {
    let idp: AuthorizationServer;
    before(async () => {
      idp = await startAuthorizationServer({ introspection });
    });
    after(() => idp.close());

    for (const [name, fault] of garbled) {
      it(`${name}: TokenResponseError, then rotation_lost; the old refresh token never presented again`, async () => {
        const key = `garbled-${name}`;
        await withManager({ idp, connect: key, options: { requestTimeoutMs: 1_000 } }, async (tokens, clock) => {
          try {
            idp.resetCounters();
            clock.advance(HOUR_MS);
            idp.faults.push(fault);
            const first = await rejection(tokens.getAccessToken(key));
            assert.ok(first instanceof TokenResponseError, `got ${first}`);
            const second = await rejection(tokens.getAccessToken(key));
            assert.ok(second instanceof ReauthRequiredError, `got ${second}`);
            assert.equal(second.reason, 'rotation_lost');
            assert.equal(idp.counters.refreshRequests, 1, 'one request, never a second one with the same token');
            assert.equal(idp.counters.reusedRefreshTokens, 0);
            assert.equal(idp.counters.introspections, introspection ? 1 : 0);
            assert.equal((await tokens.getGrant(key))?.reauthReason, 'rotation_lost');
          } finally {
            idp.faults.length = 0;
          }
        });
      });
    }

    it('a body that trickles in slower than requestTimeoutMs: a timeout, never a hang or a reuse', async () => {
      const key = 'trickle';
      await withManager({ idp, connect: key, options: { requestTimeoutMs: 300, refreshTimeoutMs: 2_000 } }, async (tokens, clock) => {
        try {
          idp.resetCounters();
          clock.advance(HOUR_MS);
          idp.faults.push({ kind: 'trickle-response', msPerByte: 50 });
          const error = await rejection(tokens.getAccessToken(key));
          assert.ok(error instanceof ReauthRequiredError, `got ${error}`);
          assert.equal(error.reason, 'rotation_lost');
          assert.equal(idp.counters.refreshSuccesses, 1);
          assert.equal(idp.counters.reusedRefreshTokens, 0);
        } finally {
          idp.faults.length = 0;
        }
      });
    });
  });
}

describe('a garbled success the server never processed (answered by a proxy)', () => {
  let idp: AuthorizationServer;
  before(async () => {
    idp = await startAuthorizationServer();
  });
  after(() => idp.close());

  it('TokenResponseError, introspection says the token is active: the next call gets a token', async () => {
    await withManager({ idp, connect: 'proxy', options: { requestTimeoutMs: 1_000 } }, async (tokens, clock) => {
      idp.resetCounters();
      clock.advance(HOUR_MS);
      idp.faults.push({ kind: 'respond', status: 200, body: 'x'.repeat(2 * 1024 * 1024) });
      assert.ok(await rejection(tokens.getAccessToken('proxy')) instanceof TokenResponseError);
      assert.ok(await tokens.getAccessToken('proxy'));
      assert.equal(idp.counters.introspections, 1);
      assert.equal(idp.counters.refreshSuccesses, 1);
      assert.equal(idp.counters.reusedRefreshTokens, 0);
    });
  });
});
