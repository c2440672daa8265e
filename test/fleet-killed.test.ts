/**
 * Fleet-safe refresh when a process dies mid-refresh: a fleet of real processes shares one grant
 * through Redis or the SQLite file, and the one that holds the lock is killed with SIGKILL while its
 * refresh request is at the real authorization server (held before the server reads it, processed
 * with its answer held, or processed late through a proxy). The server rotates the refresh token on
 * every use and revokes the whole grant when a used one comes back; every count is taken there.
 * The rest of the fleet tests are in `fleet.test.ts`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startBufferingProxy } from './support/buffering-proxy.ts';
import type { TokenEndpointFault } from './support/authorization-server.ts';
import { until as untilWithin, useFleetServers, type FleetBackendName } from './support/fleet-fixture.ts';
import { fleetRound } from './support/fleet-round.ts';
import type { FleetBackend, FleetMember } from './support/fleet-worker.ts';
import { connect } from './support/harness.ts';

// Tokens are compared with assert.ok, never assert.equal: a failure must not print a token (npm test's leak check).

const HOUR_MS = 3_600_000;
const WORKERS = 8;
const CALLERS = 100;
/** Lease of the lock in the crash tests: how long a killed holder blocks the others. */
const LEASE_TTL_MS = 2_000;
/** How long the token endpoint holds the killed process's request (longer than the lease). */
const FAULT_MS = 3_000;
/** The fleet's request timeout in the crash tests: longer than the held request. */
const REQUEST_TIMEOUT_MS = FAULT_MS + 1_000;

const fleet = useFleetServers({ workers: WORKERS });

/** Lease and request timeout of the crash tests, and where token requests go. */
interface CrashSettings {
  leaseTtlMs: number;
  requestTimeoutMs: number;
  tokenEndpointVia?: string;
}

const crashSettings: CrashSettings = { leaseTtlMs: LEASE_TTL_MS, requestTimeoutMs: REQUEST_TIMEOUT_MS };

async function startFleet(backend: FleetBackend, key: string, now: number, settings: CrashSettings): Promise<FleetMember[]> {
  return await fleet.spawn(fleet.fleetConfig({ backend, key, metadata: await fleet.serverMetadata(), now, ...settings }), WORKERS);
}

/**
 * How long a test waits for a request to reach the server or the proxy before it fails: generous, as
 * `npm test` runs other files alongside and a freshly started worker's first refresh is slow on a loaded
 * machine. A failure timeout, not a measure: no assertion depends on it.
 */
const UNTIL_MS = 60_000;

const until = (condition: () => boolean, what: string): Promise<void> => untilWithin(condition, what, UNTIL_MS);

describe('fleet: a process killed with SIGKILL while it holds the lock mid-refresh', () => {
  const cases: Array<[FleetBackendName, TokenEndpointFault['kind']]> = [
    ['redis', 'delay'],
    ['redis', 'slow-response'],
    ['sqlite-file', 'delay'],
    ['sqlite-file', 'slow-response'],
  ];
  for (const [name, kind] of cases) {
    // `delay` holds the request before the server reads it; the test server (Node's http) drops a
    // request whose client went away, so it is never processed. `slow-response` processes it at once
    // and holds the answer, which dies with the process.
    const outcome = kind === 'delay'
      ? 'request never processed: the others refresh after the lease ran out'
      : 'server rotated, response lost with the process: the others end with rotation_lost';
    it(`${name}, ${kind}: ${outcome}; no refresh token presented twice`, { timeout: 180_000 }, async () => {
      const { idp } = fleet;
      const key = `killed-${name}-${kind}`;
      const backend = fleet.backendOf(name, { key });
      let now = Date.now();
      const host = await fleet.hostManager(backend, () => now, LEASE_TTL_MS);
      let members: FleetMember[] = [];
      try {
        await connect(host.tokens, idp, key);
        members = await startFleet(backend, key, now, crashSettings);
        const [victim, ...others] = members as [FleetMember, ...FleetMember[]];
        idp.resetCounters();

        now += HOUR_MS;
        idp.faults.push(kind === 'delay' ? { kind: 'delay', ms: FAULT_MS } : { kind: 'slow-response', ms: FAULT_MS });
        const doomed = victim.round(now, CALLERS).then(() => 'answered', () => 'killed');
        // The victim holds the lock and its refresh request is at the server (held, or processed and its answer held).
        if (kind === 'delay') await until(() => idp.faults.length === 0, 'the refresh request to reach the token endpoint');
        else await until(() => idp.counters.refreshSuccesses === 1, 'the server to rotate');
        const faultStartedAt = Date.now();
        await victim.kill();
        assert.equal(await doomed, 'killed');

        const result = await fleetRound(others, now, CALLERS);
        if (kind === 'delay') {
          assert.deepEqual(result.errors, [], 'every remaining caller got a token');
          assert.equal(result.tokens.size, 1);
          assert.equal(idp.counters.refreshSuccesses, 1);
          assert.ok(idp.counters.introspections >= 1, 'the in-flight marker left by the dead process was checked at the server');
          // Until the held request has been let through (or dropped), the server could still see it twice.
          await sleep(Math.max(0, faultStartedAt + FAULT_MS + 500 - Date.now()));
          assert.equal(idp.counters.reusedRefreshTokens, 0, 'no refresh token presented twice');
          assert.deepEqual(idp.counters.refreshErrors, {});

          now += HOUR_MS;
          const next = await fleetRound(others, now, CALLERS);
          assert.deepEqual(next.errors, [], 'the grant is alive');
          assert.equal(next.tokens.size, 1);
          assert.equal(idp.counters.refreshSuccesses, 2);
        } else {
          assert.equal(result.tokens.size, 0);
          assert.equal(result.errors.length, others.length * CALLERS);
          assert.deepEqual(new Set(result.errors), new Set(['ERR_REAUTH_REQUIRED']));
          assert.deepEqual(result.reasons, new Set(['rotation_lost']));
          assert.ok(idp.counters.introspections >= 1, 'the loss was confirmed at the server');
          assert.equal(idp.counters.refreshRequests, 1, 'the rotated-away refresh token was not sent again');
          assert.equal((await host.tokens.getGrant(key))?.reauthReason, 'rotation_lost');
        }
        assert.equal(idp.counters.reusedRefreshTokens, 0, 'no refresh token presented twice');
      } finally {
        await fleet.stop(members);
        await host.close();
      }
    });
  }
});

describe('fleet: a process killed mid-refresh, its request processed by the server after the lease ran out', () => {
  // The process that takes over finds the dead one's in-flight marker. Introspecting at once would say
  // "active" (the server has not processed the held request yet) and the same refresh token would go
  // out again; the SDK waits one request timeout from the marker before asking.
  it('redis: the others do not present the same refresh token again', { timeout: 180_000 }, async () => {
    const { idp } = fleet;
    const key = 'killed-processed-late';
    const backend = fleet.backendOf('redis', { key });
    const proxy = await startBufferingProxy(idp.issuer);
    let now = Date.now();
    const host = await fleet.hostManager(backend, () => now, LEASE_TTL_MS);
    let members: FleetMember[] = [];
    try {
      await connect(host.tokens, idp, key);
      members = await startFleet(backend, key, now, { ...crashSettings, tokenEndpointVia: proxy.url });
      const [victim, ...others] = members as [FleetMember, ...FleetMember[]];
      idp.resetCounters();

      now += HOUR_MS;
      proxy.holdMs.push(FAULT_MS);
      const doomed = victim.round(now, CALLERS).then(() => 'answered', () => 'killed');
      await until(() => proxy.received === 1, 'the refresh request to reach the proxy');
      await victim.kill();
      assert.equal(await doomed, 'killed');

      const result = await fleetRound(others, now, CALLERS);
      await until(() => proxy.forwarded === proxy.received, 'the held request to be processed');
      console.log(`processed late: remaining callers got ${result.tokens.size} token(s), errors ${[...new Set(result.errors)].join(',') || 'none'} ${[...result.reasons].join(',')}; `
        + `server saw ${idp.counters.refreshRequests} refresh requests, ${idp.counters.reusedRefreshTokens} reused, errors ${JSON.stringify(idp.counters.refreshErrors)}`);
      assert.equal(idp.counters.reusedRefreshTokens, 0, 'no refresh token presented twice');
    } finally {
      await fleet.stop(members);
      await host.close();
      await proxy.close();
    }
  });
});
