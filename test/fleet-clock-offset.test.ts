/**
 * Fleet with skewed clocks: one process's injected clock runs 2 s ahead of (or behind) the others,
 * on real Redis and real PostgreSQL, against the real authorization server (every count is taken
 * there). The leases use the lock backend's clock (Redis `PX`, PostgreSQL `now()`); what a host's
 * own clock decides is when its token is due, and how old another process's in-flight marker is.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startBufferingProxy } from './support/buffering-proxy.ts';
import { until, useFleetServers, type FleetFields } from './support/fleet-fixture.ts';
import type { FleetMember, RoundResult } from './support/fleet-worker.ts';
import { connect } from './support/harness.ts';

// Tokens are compared with assert.ok, never assert.equal: a failure must not print a token (npm test's leak check).

const HOUR_MS = 3_600_000;
const OFFSET_MS = 2_000;
const CALLERS = 50;
/** The manager's default `refreshWindowMs`. */
const WINDOW_MS = 60_000;
/** How long a test waits for a request to reach (or leave) the proxy. */
const UNTIL_MS = 30_000;

const fleet = useFleetServers({ workers: 2 });

async function spawnOne(fields: FleetFields): Promise<FleetMember> {
  const [member] = await fleet.spawn(fleet.fleetConfig(fields), 1);
  return member!;
}

describe(`fleet: two processes whose clocks are ${OFFSET_MS / 1000} s apart`, () => {
  for (const name of ['redis', 'postgres'] as const) {
    for (const offsetMs of [OFFSET_MS, -OFFSET_MS]) {
      const label = offsetMs > 0 ? 'ahead' : 'behind';
      it(`${name}, one clock ${label}: due times straddled, one rotation per expiry, no reuse, grant alive`, { timeout: 180_000 }, async () => {
        const key = `offset-${name}-${label}`;
        const { idp } = fleet;
        const backend = fleet.backendOf(name);
        let now = Date.now();
        const host = await fleet.hostManager(backend, () => now);
        const members: FleetMember[] = [];
        try {
          await connect(host.tokens, idp, key);
          members.push(await spawnOne({ backend, key, now }), await spawnOne({ backend, key, now, clockOffsetMs: offsetMs }));
          idp.resetCounters();
          // Each expiry is visited at three instants, chosen so that the two clocks disagree: just
          // before one of them enters the refresh window, just before one of them sees the token
          // expired, and past the expiry for both.
          const ROUNDS = 9;
          let expiries = 0;
          let lastExpiresAt = Number.NaN;
          for (let round = 1; round <= ROUNDS; round++) {
            const grant = await host.tokens.getGrant(key);
            assert.equal(grant?.status, 'active', `round ${round}: grant alive`);
            const expiresAt = grant!.expiresAt;
            if (expiresAt !== lastExpiresAt) expiries++;
            lastExpiresAt = expiresAt;
            const phase = (round - 1) % 3;
            now = phase === 0 ? expiresAt - WINDOW_MS - OFFSET_MS / 2 : phase === 1 ? expiresAt - OFFSET_MS / 2 : expiresAt + OFFSET_MS / 2;
            const before = idp.counters.refreshRequests;
            const results: RoundResult[] = await Promise.all(members.map((member) => member.round(now, CALLERS)));
            const tokens = new Set(results.flatMap((result) => result.tokens));
            const requests = idp.counters.refreshRequests - before;
            console.log(`clock offset ${name} ${label} round ${round}/${ROUNDS} (phase ${phase}): ${tokens.size} token(s), ${requests} refresh request(s), `
              + `refreshed by ${results.map((result) => (result.refresh === undefined ? '-' : 'R')).join('')}`);
            assert.deepEqual(results.flatMap((result) => result.errors), [], `round ${round}: every caller got a token`);
            for (const token of tokens) assert.ok(idp.issuedTokens.has(token), `round ${round}: issued by the server`);
            assert.ok(requests <= 1, `round ${round}: at most one refresh request (saw ${requests})`);
            assert.equal(idp.counters.reusedRefreshTokens, 0, `round ${round}: no refresh token presented twice`);
            assert.deepEqual(idp.counters.refreshErrors, {});
          }
          // Every rotation made a new expiry: never two rotations for one expiry.
          const rotations = idp.counters.refreshSuccesses;
          assert.equal(idp.counters.refreshRequests, rotations);
          assert.ok(rotations >= ROUNDS / 3, `the expiries were renewed (${rotations} rotations)`);
          assert.ok(rotations <= expiries, `one rotation per expiry (${rotations} rotations, ${expiries} expiries seen)`);
          now += HOUR_MS;
          assert.ok(idp.issuedTokens.has(await host.tokens.getAccessToken(key)), 'the grant is alive');
          assert.equal(idp.counters.reusedRefreshTokens, 0);
        } finally {
          await fleet.stop(members);
          await host.close();
        }
      });
    }
  }
});

describe(`fleet: a process killed mid-refresh, its request processed late, the next holder's clock ${OFFSET_MS / 1000} s ahead`, () => {
  // The taker reads the dead process's in-flight marker and waits one request timeout counted from
  // it before asking the server: with its clock ahead, the marker looks older than it is.
  const LEASE_TTL_MS = 2_000;
  const REQUEST_TIMEOUT_MS = 5_000;
  /** The held request reaches the server this long after it was sent: within the request timeout. */
  const HOLD_MS = 4_000;
  for (const name of ['redis', 'postgres'] as const) {
    it(`${name}: the rotated-away refresh token is not presented again (rotation_lost, no reuse)`, { timeout: 90_000 }, async () => {
      const key = `offset-killed-${name}`;
      const { idp } = fleet;
      const backend = fleet.backendOf(name);
      const proxy = await startBufferingProxy(idp.issuer);
      let now = Date.now();
      const host = await fleet.hostManager(backend, () => now, LEASE_TTL_MS);
      const members: FleetMember[] = [];
      try {
        await connect(host.tokens, idp, key);
        const common = { backend, key, now, leaseTtlMs: LEASE_TTL_MS, requestTimeoutMs: REQUEST_TIMEOUT_MS, tokenEndpointVia: proxy.url, clockRuns: true };
        const [victim, taker] = [await spawnOne(common), await spawnOne({ ...common, clockOffsetMs: OFFSET_MS })];
        members.push(victim, taker);
        idp.resetCounters();

        now += HOUR_MS;
        proxy.holdMs.push(HOLD_MS);
        const doomed = victim.round(now, CALLERS).then(() => 'answered', () => 'killed');
        await until(() => proxy.received === 1, 'the refresh request to reach the proxy', UNTIL_MS);
        await victim.kill();
        assert.equal(await doomed, 'killed');

        const result = await taker.round(now, CALLERS);
        await until(() => proxy.forwarded === proxy.received, 'the held request to be processed', UNTIL_MS);
        console.log(`clock offset ${name}, killed: taker got ${result.tokens.length} token(s), errors ${[...new Set(result.errors)].join(',') || 'none'} ${result.reasons.join(',')}; `
          + `server saw ${idp.counters.refreshRequests} refresh request(s), ${idp.counters.reusedRefreshTokens} reused, ${idp.counters.introspections} introspection(s), errors ${JSON.stringify(idp.counters.refreshErrors)}`);
        assert.equal(idp.counters.reusedRefreshTokens, 0, 'no refresh token presented twice');
        assert.equal(idp.counters.refreshRequests, 1, 'only the dead process presented the refresh token');
        assert.deepEqual(new Set(result.errors), new Set(['ERR_REAUTH_REQUIRED']));
        assert.deepEqual(result.reasons, ['rotation_lost'], 'the rotation was lost with the killed process, and said so');
      } finally {
        await fleet.stop(members);
        await host.close();
        await proxy.close();
      }
    });
  }
});
