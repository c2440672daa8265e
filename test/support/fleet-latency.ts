/**
 * The store-latency fleet scenario (`fleet-latency-redis.test.ts`, `fleet-latency-postgres.test.ts`).
 * Fleet under a store with a long tail: 8 processes × callers share one grant while their store and
 * lock backend (real redis-server, real PostgreSQL) answer through a TCP proxy that holds ~2 % of the
 * chunks for 1.5–3 s (everything behind a held chunk waits too), so the p99 of the store's latency
 * is seconds. Every count is taken at the real authorization server.
 *
 * What a caller may get: a token issued by the server for this expiry, or a *retryable* typed error
 * (`ERR_STORE_UNAVAILABLE`, `ERR_LOCK_UNAVAILABLE`, `ERR_SERVER_UNAVAILABLE`: a store command that ran
 * past `storeTimeoutMs`, a lock command past its timeout). Never `ERR_REAUTH_REQUIRED`, never a
 * refresh token presented twice, never more than one refresh request per expiry.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { useFleetServers } from './fleet-fixture.ts';
import { summarize, type FleetMember } from './fleet-worker.ts';
import { connect } from './harness.ts';
import { startLatencyProxy, type LatencyProxy } from './latency-proxy.ts';

// Tokens are compared with assert.ok, never assert.equal: a failure must not print a token (npm test's leak check).

const HOUR_MS = 3_600_000;
const WORKERS = 8;
const CALLERS = 50;
const ROUNDS = 12;
const RETRYABLE = new Set(['ERR_STORE_UNAVAILABLE', 'ERR_LOCK_UNAVAILABLE', 'ERR_SERVER_UNAVAILABLE']);

/**
 * Registers the fleet servers and the test for one backend; its file runs it at module level. One
 * file per backend, so that `npm test` runs both at once: each is rounds of seconds-long waits.
 */
export function describeFleetUnderStoreLatency(name: 'redis' | 'postgres'): void {
  const fleet = useFleetServers({ workers: WORKERS, postgres: name === 'postgres' });

  describe(`fleet: ${WORKERS} processes × ${CALLERS} callers, store and lock with a p99 of seconds`, () => {
    it(`${name}: at most one refresh request per expiry, no reuse, only retryable errors, grant alive`, { timeout: 600_000 }, async () => {
      const key = `latency-${name}`;
      const { idp } = fleet;
      const port = name === 'redis' ? fleet.redis.port : fleet.postgres.port;
      const direct = fleet.backendOf(name, { port });
      let proxy: LatencyProxy | undefined;
      let now = Date.now();
      // The host that consents and checks at the end talks to the store directly.
      const host = await fleet.hostManager(direct, () => now);
      let members: FleetMember[] = [];
      try {
        await connect(host.tokens, idp, key);
        let previous = await host.tokens.getAccessToken(key);
        proxy = await startLatencyProxy(port, {
          probability: 0.02,
          minDelayMs: 1_500,
          maxDelayMs: 3_000,
          seed: name === 'redis' ? 9 : 10,
        });
        members = await fleet.spawn(fleet.fleetConfig({
          backend: fleet.backendOf(name, { port: proxy.port }),
          key,
          metadata: await fleet.serverMetadata(),
          now,
        }), WORKERS);
        idp.resetCounters();

        const errors = new Map<string, number>();
        const waitsMs: number[] = [];
        let renewedRounds = 0;
        for (let round = 1; round <= ROUNDS; round++) {
          now += HOUR_MS; // past the access token's expiry, for every process at once
          const before = idp.counters.refreshRequests;
          const results = await Promise.all(members.map((member) => member.round(now, CALLERS)));
          const tokens = new Set(results.flatMap((result) => result.tokens));
          const failed = results.flatMap((result) => result.errors);
          for (const code of failed) errors.set(code, (errors.get(code) ?? 0) + 1);
          waitsMs.push(...results.flatMap((result) => result.latenciesMs));
          const requests = idp.counters.refreshRequests - before;
          console.log(`fleet latency ${name} round ${round}/${ROUNDS}: ${tokens.size} token(s), ${failed.length} failed caller(s) [${[...new Set(failed)].join(',')}], `
            + `${requests} refresh request(s); proxy ${JSON.stringify(proxy.stats())}`);

          for (const code of failed) assert.ok(RETRYABLE.has(code), `round ${round}: a failed caller got a retryable error, not ${code}`);
          assert.ok(requests <= 1, `round ${round}: at most one refresh request for this expiry (saw ${requests})`);
          assert.ok(tokens.size <= 1, `round ${round}: one token across the fleet`);
          if (tokens.size === 1) {
            const [token] = tokens as Set<string>;
            assert.ok(token !== previous, `round ${round}: not the expired token`);
            assert.ok(idp.issuedTokens.has(token!), `round ${round}: issued by the server`);
            previous = token!;
            renewedRounds++;
          }
          assert.equal(idp.counters.reusedRefreshTokens, 0, `round ${round}: no refresh token presented twice`);
          assert.deepEqual(idp.counters.refreshErrors, {}, `round ${round}: no refresh refused by the server`);
        }
        const stats = proxy.stats();
        assert.ok(stats.held > 0, 'the proxy held some chunks');
        assert.ok(stats.p99Ms >= 1_000, `the store's p99 was seconds (${stats.p99Ms.toFixed(0)} ms)`);
        assert.ok(renewedRounds >= ROUNDS / 2, `most expiries were served (${renewedRounds} of ${ROUNDS})`);
        assert.equal(idp.counters.refreshRequests, idp.counters.refreshSuccesses, 'every refresh request succeeded');

        proxy.calm();
        now += HOUR_MS;
        const after = await Promise.all(members.map((member) => member.round(now, CALLERS)));
        assert.deepEqual(after.flatMap((result) => result.errors), [], 'with the tail gone, every caller gets a token');
        now += HOUR_MS;
        const fresh = await host.tokens.getAccessToken(key);
        assert.ok(idp.issuedTokens.has(fresh), 'the grant is alive: the host refreshes it directly');
        assert.equal(idp.counters.reusedRefreshTokens, 0, 'no refresh token presented twice');
        assert.deepEqual(idp.counters.refreshErrors, {});

        const [p50, p99, max] = summarize(waitsMs);
        console.log(`fleet latency ${name}: ${renewedRounds}/${ROUNDS} expiries renewed with ${idp.counters.refreshSuccesses - 2} refresh requests in the slow rounds, `
          + `failed callers ${JSON.stringify(Object.fromEntries(errors))} of ${ROUNDS * WORKERS * CALLERS}; `
          + `store chunks ${stats.chunks}, held ${stats.held}, added latency p50 ${stats.p50Ms.toFixed(1)} ms p99 ${stats.p99Ms.toFixed(0)} ms max ${stats.maxMs.toFixed(0)} ms; `
          + `caller wait p50 ${p50.toFixed(0)} ms p99 ${p99.toFixed(0)} ms max ${max.toFixed(0)} ms`);
      } finally {
        await fleet.stop(members);
        await host.close();
        await proxy?.close();
      }
    });
  });
}
