/**
 * One grant, two APIs, a fleet: 8 processes (test/support/fleet-worker.ts) on real Redis and real
 * PostgreSQL each ask for tokens for two resources (RFC 8707) concurrently, across several expiries.
 * Every resource token is its own refresh of the grant, so each round is 8 × 2 rotations of one
 * refresh token, which must go one at a time, fleet-wide. Counted at the server and at a proxy in
 * front of its token endpoint (requests in flight at once: test/support/buffering-proxy.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RESOURCE_PREFIX } from './support/authorization-server.ts';
import { startBufferingProxy } from './support/buffering-proxy.ts';
import { useFleetServers } from './support/fleet-fixture.ts';
import type { FleetMember } from './support/fleet-worker.ts';

// Tokens are compared with assert.ok, never assert.equal: a failure must not print a token (npm test's leak check).

const HOUR_MS = 3_600_000;
const WORKERS = 8;
/** Callers per process and round, half for each resource. */
const CALLERS = 20;
const ROUNDS = 3;
const API_A = `${RESOURCE_PREFIX}a`;
const API_B = `${RESOURCE_PREFIX}b`;

/** The `aud` of a JWT access token (read only: the test trusts its own server). */
function audience(token: string): unknown {
  return (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { aud?: unknown }).aud;
}

const fleet = useFleetServers({ workers: WORKERS });

describe(`fleet: ${WORKERS} processes × 2 resources on one grant`, () => {
  for (const name of ['redis', 'postgres'] as const) {
    it(`${name}: ${ROUNDS} expiries → ${WORKERS * 2} rotations each, one at a time, never a reused refresh token; two audiences; grant alive`, { timeout: 240_000 }, async (t) => {
      const key = `fleet-resources-${name}`;
      const { idp } = fleet;
      const backend = fleet.backendOf(name);
      let now = Date.now();
      const { tokens: host, close: closeHost } = await fleet.hostManager(backend, () => now);
      const proxy = await startBufferingProxy(idp.issuer);
      let members: FleetMember[] = [];
      try {
        const { url, state } = await host.startAuthorization({ key, scope: 'api:read', resource: [API_A, API_B] });
        await host.completeAuthorization(await idp.consent(url), { state });
        const metadata = await fleet.serverMetadata();
        const spawnStartedAt = performance.now();
        members = await fleet.spawn(fleet.fleetConfig({ backend, key, metadata, now, tokenEndpointVia: proxy.url }), WORKERS);
        t.diagnostic(`${WORKERS} processes ready in ${Math.round(performance.now() - spawnStartedAt)} ms`);
        idp.resetCounters();
        const liveBefore = idp.liveRefreshTokens();

        const seen = new Set<string>();
        for (let round = 1; round <= ROUNDS; round++) {
          now += HOUR_MS; // every process's resource tokens have expired
          const startedAt = performance.now();
          const results = await Promise.all(members.map((member) => member.round(now, CALLERS, [API_A, API_B])));
          t.diagnostic(`round ${round}: ${WORKERS * 2} rotations in ${Math.round(performance.now() - startedAt)} ms`);
          assert.deepEqual(results.flatMap((result) => result.errors), [], `round ${round}: no caller failed`);
          for (const result of results) {
            const a = result.tokensByResource![API_A]!;
            const b = result.tokensByResource![API_B]!;
            assert.equal(a.length, 1, `round ${round}: one token for A per process (single flight)`);
            assert.equal(b.length, 1, `round ${round}: one token for B per process (single flight)`);
            assert.equal(audience(a[0]!), API_A, `round ${round}: A's token is for A`);
            assert.equal(audience(b[0]!), API_B, `round ${round}: B's token is for B`);
            assert.ok(idp.issuedTokens.has(a[0]!) && idp.issuedTokens.has(b[0]!), `round ${round}: issued by the server`);
            for (const token of [a[0]!, b[0]!]) {
              assert.ok(!seen.has(token), `round ${round}: a new token`);
              seen.add(token);
            }
          }
          assert.equal(idp.counters.refreshSuccesses, round * WORKERS * 2, `round ${round}: one refresh per (process, resource)`);
          assert.equal(idp.counters.reusedRefreshTokens, 0, `round ${round}: never a reused refresh token`);
          assert.deepEqual(idp.counters.refreshErrors, {}, `round ${round}: no refresh refused`);
        }
        assert.equal(proxy.received, ROUNDS * WORKERS * 2, 'every refresh went through the proxy');
        assert.equal(proxy.maxInFlight, 1, 'one rotation at a time, fleet-wide');

        const grant = await host.getGrant(key);
        assert.equal(grant?.status, 'active');
        assert.equal(grant?.rotations, ROUNDS * WORKERS * 2, 'every rotation persisted, in one chain');
        assert.equal(idp.liveRefreshTokens(), liveBefore, 'each rotation consumed one refresh token and issued one: no fork');
        // Alive: the grant still refreshes (the host's own token, then a resource token).
        assert.ok((await host.getAccessToken(key, { forceRefresh: true })).length > 0);
        assert.equal(audience(await host.getAccessToken(key, { resource: API_B, forceRefresh: true })), API_B);
        assert.equal(idp.counters.reusedRefreshTokens, 0);
      } finally {
        await fleet.stop(members);
        await closeHost();
        await proxy.close();
      }
    });
  }
});
