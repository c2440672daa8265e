/**
 * Fleet-safe refresh: many processes (and hosts) share one grant through Redis, PostgreSQL or the
 * SQLite file, against the real authorization server, which rotates the refresh token on every use
 * and revokes the whole grant when a used one comes back. Every count is taken at the server.
 * Processes killed mid-refresh are in `fleet-killed.test.ts` (a file of its own, so that `npm test`
 * runs both at once).
 *
 * The fleet is real child processes (test/support/fleet-worker.ts); their clock is set by this
 * process, so "the access token expired" is a message, not a wait.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Keyv from 'keyv';
import { createTokenManager, ReauthRequiredError, TokenManagerError, type GrantLock, type TokenManager } from 'offline-tokens';
import { createRedisLock } from 'offline-tokens/redis';
import { until as untilWithin, useFleetServers } from './support/fleet-fixture.ts';
import { fleetRound } from './support/fleet-round.ts';
import { summarize, type FleetBackend, type FleetMember } from './support/fleet-worker.ts';
import { connect, managerOptions, rejection } from './support/harness.ts';

// Tokens are compared with assert.ok, never assert.equal: a failure must not print a token (npm test's leak check).

const HOUR_MS = 3_600_000;
const WORKERS = 8;
const CALLERS = 100;
const ROUNDS = 20;

const fleet = useFleetServers({ workers: WORKERS });

async function startFleet(backend: FleetBackend, key: string, now: number): Promise<FleetMember[]> {
  return await fleet.spawn(fleet.fleetConfig({ backend, key, metadata: await fleet.serverMetadata(), now }), WORKERS);
}

/** How long a test waits for a request to reach the server. */
const UNTIL_MS = 20_000;

const until = (condition: () => boolean, what: string): Promise<void> => untilWithin(condition, what, UNTIL_MS);

const format = (ms: number): string => `${ms.toFixed(1)} ms`;

describe(`fleet: ${WORKERS} processes × ${CALLERS} callers share one grant`, () => {
  for (const name of ['redis', 'postgres', 'sqlite-file'] as const) {
    it(`${name}: ${ROUNDS} expiries → ${ROUNDS} refresh requests, no invalid_grant, every caller gets the new token, grant alive`, { timeout: 180_000 }, async () => {
      const { idp } = fleet;
      const key = `fleet-${name}`;
      const backend = fleet.backendOf(name, { key });
      let now = Date.now();
      const host = await fleet.hostManager(backend, () => now);
      let members: FleetMember[] = [];
      try {
        await connect(host.tokens, idp, key);
        let previous = await host.tokens.getAccessToken(key);
        members = await startFleet(backend, key, now);
        idp.resetCounters();
        const latenciesMs: number[] = [];
        const refreshMs: number[] = [];
        for (let round = 1; round <= ROUNDS; round++) {
          now += HOUR_MS; // past the 3600 s access token's expiry, for every process at once
          const result = await fleetRound(members, now, CALLERS);
          assert.deepEqual(result.errors, [], `round ${round}: no caller failed`);
          assert.equal(result.tokens.size, 1, `round ${round}: all ${WORKERS * CALLERS} callers got the same token`);
          const [token] = result.tokens as Set<string>;
          assert.ok(token !== previous, `round ${round}: a new token`);
          assert.ok(idp.issuedTokens.has(token!), `round ${round}: issued by the server`);
          assert.equal(idp.counters.refreshRequests, round, `round ${round}: one refresh request per expiry`);
          assert.equal(result.refreshes.length, 1, `round ${round}: one process refreshed, the others adopted`);
          previous = token!;
          latenciesMs.push(...result.latenciesMs);
          refreshMs.push(result.refreshes[0]!.totalMs);
        }
        const requests = idp.counters.refreshRequests;
        assert.equal(requests, ROUNDS);
        assert.equal(idp.counters.refreshSuccesses, ROUNDS);
        assert.equal(idp.counters.refreshErrors.invalid_grant ?? 0, 0);
        assert.deepEqual(idp.counters.refreshErrors, {});
        assert.equal(idp.counters.reusedRefreshTokens, 0, 'no refresh token presented twice');

        now += HOUR_MS;
        assert.ok(await host.tokens.getAccessToken(key) !== previous, 'a new token after the fleet');
        assert.equal(idp.counters.refreshSuccesses, ROUNDS + 1, 'the grant is alive: one more refresh succeeds');

        const [p50, p99] = summarize(latenciesMs);
        const [refreshP50, refreshP99] = summarize(refreshMs);
        console.log(`fleet ${name}: ${requests / ROUNDS} refresh request(s) per expiry (${requests} for ${ROUNDS} expiries), `
          + `caller wait p50 ${format(p50)} p99 ${format(p99)} over ${latenciesMs.length} callers, `
          + `fleet refresh end to end p50 ${format(refreshP50)} p99 ${format(refreshP99)}`);
      } finally {
        await fleet.stop(members);
        await host.close();
      }
    });
  }
});

describe('fleet: server latency twice the lease while the holder keeps renewing it', () => {
  // Before: the holder abandoned its request at lease-minus-margin, cleared nothing it could trust,
  // and the other process presented the same refresh token; the server revoked the grant.
  const SHORT_LEASE_MS = 1_500;
  for (const name of ['redis', 'postgres'] as const) {
    it(`${name}: the answer is awaited, one refresh request, the other process adopts, the grant stays alive`, { timeout: 60_000 }, async () => {
      const { idp } = fleet;
      const key = `slow-server-${name}`;
      const backend = fleet.backendOf(name, { key });
      let now = Date.now();
      const host = await fleet.hostManager(backend, () => now, SHORT_LEASE_MS);
      let members: FleetMember[] = [];
      try {
        await connect(host.tokens, idp, key);
        members = await fleet.spawn(fleet.fleetConfig({ backend, key, now, leaseTtlMs: SHORT_LEASE_MS, requestTimeoutMs: 4 * SHORT_LEASE_MS }), 2);
        idp.resetCounters();

        now += HOUR_MS;
        idp.faults.push({ kind: 'slow-response', ms: 2 * SHORT_LEASE_MS });
        const result = await fleetRound(members, now, CALLERS);
        assert.deepEqual(result.errors, [], 'every caller of both processes got a token');
        assert.equal(result.tokens.size, 1, 'one token across the fleet');
        assert.equal(result.refreshes.length, 1, 'one process refreshed, the other adopted');
        assert.equal(idp.counters.refreshRequests, 1, 'exactly one refresh request');
        assert.equal(idp.counters.reusedRefreshTokens, 0);

        now += HOUR_MS;
        const next = await fleetRound(members, now, CALLERS);
        assert.deepEqual(next.errors, [], 'the grant is alive');
        assert.equal(next.tokens.size, 1);
        assert.equal(idp.counters.refreshSuccesses, 2);
        assert.equal(idp.counters.reusedRefreshTokens, 0);
      } finally {
        await fleet.stop(members);
        await host.close();
      }
    });
  }
});

describe('fleet: server latency twice the lease, and the lease can no longer be renewed', () => {
  it('redis frozen mid-request: the request is abandoned before the lease runs out, the marker kept, the other host never presents that refresh token', { timeout: 60_000 }, async () => {
    const { idp, redis } = fleet;
    const SHORT_LEASE_MS = 1_500;
    const key = 'unrenewable-lease';
    const store = new Keyv();
    let now = Date.now();
    const locks = [0, 1].map(() => createRedisLock({ url: redis.url }, { leaseTtlMs: SHORT_LEASE_MS, commandTimeoutMs: 300 }));
    const host = (lock: GrantLock): Promise<TokenManager> => createTokenManager(managerOptions(idp, 'post', {
      store,
      now: () => now,
      requestTimeoutMs: 4 * SHORT_LEASE_MS,
      lock,
    }));
    const [first, second] = await Promise.all(locks.map(host)) as [TokenManager, TokenManager];
    try {
      await connect(first, idp, key);
      idp.resetCounters();
      now += HOUR_MS;
      idp.faults.push({ kind: 'slow-response', ms: 2 * SHORT_LEASE_MS });
      const abandoned = rejection(first.getAccessToken(key));
      await until(() => idp.counters.refreshSuccesses === 1, 'the server to rotate');
      redis.freeze(); // the lease can no longer be renewed
      let error: Error;
      try {
        error = await abandoned; // the answer would come 2 × the lease after the request: never awaited
      } finally {
        redis.thaw();
      }
      assert.ok(!(error instanceof ReauthRequiredError), `got ${error}`);
      assert.ok(error instanceof TokenManagerError, `got ${error}`);

      const other = await rejection(second.getAccessToken(key));
      assert.ok(other instanceof ReauthRequiredError && other.reason === 'rotation_lost', `got ${other}`);
      assert.ok(idp.counters.introspections >= 1, 'the marker made the other host ask the server first');
      assert.equal(idp.counters.refreshRequests, 1, 'the rotated-away refresh token was never sent again');
      assert.equal(idp.counters.reusedRefreshTokens, 0);
    } finally {
      redis.thaw();
      await Promise.all([first.close(), second.close()]);
      await Promise.all(locks.map((lock) => lock.close?.()));
    }
  });
});

describe('a second host with its own in-memory cache, sharing store and lock', () => {
  for (const name of ['redis', 'postgres', 'sqlite-file'] as const) {
    it(`${name}: adopts the first host's refreshed token from the store without a server request`, async () => {
      const { idp } = fleet;
      const key = `second-host-${name}`;
      const backend = fleet.backendOf(name, { key });
      let now = Date.now();
      const first = await fleet.hostManager(backend, () => now);
      const second = await fleet.hostManager(backend, () => now);
      try {
        await connect(first.tokens, idp, key);
        const original = await first.tokens.getAccessToken(key);
        assert.ok(await second.tokens.getAccessToken(key) === original, 'read from the store');
        idp.resetCounters();

        now += HOUR_MS;
        const refreshed = await first.tokens.getAccessToken(key);
        assert.ok(refreshed !== original, 'refreshed');
        assert.equal(idp.counters.refreshRequests, 1);
        assert.ok(await second.tokens.getAccessToken(key) === refreshed, 'adopted from the store');
        assert.equal(idp.counters.refreshRequests, 1, 'no request from the second host');

        now += HOUR_MS;
        const [a, b] = await Promise.all([first.tokens.getAccessToken(key), second.tokens.getAccessToken(key)]);
        assert.ok(a === b, 'both hosts at once: one refresh, one token');
        assert.ok(a !== refreshed, 'a new token');
        assert.equal(idp.counters.refreshRequests, 2);
        assert.equal(idp.counters.reusedRefreshTokens, 0);
      } finally {
        await second.close();
        await first.close();
      }
    });
  }
});
