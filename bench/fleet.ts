/**
 * A fleet refreshing one grant: 8 processes × 100 concurrent callers sharing it through Redis
 * (store + lock) and through PostgreSQL (@keyv/postgres + lock), against the test authorization
 * server. Every expiry is simulated by moving the processes' clock past the access token's lifetime.
 * Counted at the server: refresh requests per expiry. Timed: every caller's wait, and in the process
 * that refreshed, its first caller → `refreshed` (lock + server + persist).
 * Real Redis and PostgreSQL are started from the installed binaries (test/support/servers.ts).
 * @module
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTokenManager } from 'offline-tokens';
import { openBackend, spawnFleet, type FleetBackend, type FleetMember } from '../test/support/fleet-worker.ts';
import { startPostgres, startRedis } from '../test/support/servers.ts';
import { consentGrant, startIdp, type AuthorizationServer } from './fixtures.ts';
import { median, percentile } from './measure.ts';
import { verdict, type Row, type Section, type SectionContext } from './section.ts';

const PROCESSES = 8;
const CALLERS_PER_PROCESS = 100;
/** Timed expiries per backend, after one untimed (connections opening, JIT). */
const EXPIRIES = 10;
const HOUR_MS = 3_600_000;
const KEY = 'fleet-user';

/** The fleet section. */
export const fleet: Section = {
  id: 'fleet',
  title: `Fleet refresh (${PROCESSES} processes)`,
  run: runFleet,
};

async function runFleet(context: SectionContext): Promise<Row[]> {
  const dir = await mkdtemp(join(tmpdir(), 'offline-tokens-bench-fleet-'));
  const [idp, redis, postgres] = await Promise.all([startIdp(), startRedis(), startPostgres()]);
  try {
    const rows: Row[] = [];
    rows.push(...await measureBackend(idp, 'Redis', { kind: 'redis', url: redis.url }));
    rows.push(...await measureBackend(idp, 'PostgreSQL', { kind: 'postgres', connectionString: postgres.connectionString }));
    context.note(`fleet: ${PROCESSES} processes × ${CALLERS_PER_PROCESS} callers, ${EXPIRIES} timed expiries per backend (after one untimed), all on this machine (${PROCESSES} processes share its cores with the server and Redis/PostgreSQL)`);
    return rows;
  } finally {
    await Promise.allSettled([idp.close(), redis.stop(), postgres.stop()]);
    await rm(dir, { recursive: true, force: true });
  }
}

async function measureBackend(idp: AuthorizationServer, name: string, backend: FleetBackend): Promise<Row[]> {
  let now = Date.now();
  const opened = await openBackend(backend);
  const host = await createTokenManager({
    issuer: idp.issuer,
    clientId: idp.clients.post.clientId,
    clientSecret: idp.clients.post.clientSecret,
    redirectUri: idp.redirectUri,
    allowInsecureRequests: true,
    ...opened.options,
    now: () => now,
  });
  let members: FleetMember[] = [];
  try {
    await consentGrant(host, idp, KEY);
    members = await spawnFleet({ issuer: idp.issuer, client: idp.clients.post, redirectUri: idp.redirectUri, backend, key: KEY, now }, PROCESSES);
    idp.resetCounters();
    const waitsMs: number[] = [];
    const totalMs: number[] = [];
    const lockWaitMs: number[] = [];
    const serverMs: number[] = [];
    let failedCallers = 0;
    for (let expiry = 0; expiry <= EXPIRIES; expiry++) {
      now += HOUR_MS;
      const results = await Promise.all(members.map((member) => member.round(now, CALLERS_PER_PROCESS)));
      failedCallers += results.reduce((sum, result) => sum + result.errors.length, 0);
      if (expiry === 0) continue;
      for (const result of results) {
        waitsMs.push(...result.latenciesMs);
        if (result.refresh === undefined) continue;
        totalMs.push(result.refresh.totalMs);
        if (result.refresh.lockWaitMs !== undefined) lockWaitMs.push(result.refresh.lockWaitMs);
        if (result.refresh.serverMs !== undefined) serverMs.push(result.refresh.serverMs);
      }
    }
    const expiries = EXPIRIES + 1;
    const perExpiry = idp.counters.refreshRequests / expiries;
    const invalidGrant = idp.counters.refreshErrors.invalid_grant ?? 0;
    const callers = PROCESSES * CALLERS_PER_PROCESS;
    return [
      {
        case: `${name}: refresh requests at the server per access-token expiry (${PROCESSES} processes × ${CALLERS_PER_PROCESS} callers)`,
        value: perExpiry,
        unit: 'ratio',
        target: '= 1',
        verdict: verdict(perExpiry === 1 && invalidGrant === 0 && failedCallers === 0),
        detail: `${idp.counters.refreshRequests} requests for ${expiries} expiries, ${invalidGrant} invalid_grant, ${idp.counters.reusedRefreshTokens} refresh tokens presented twice, ${failedCallers} callers failed`,
      },
      {
        case: `${name}: wait of the ${callers} callers during a fleet refresh, p50`,
        value: percentile(waitsMs, 50),
        unit: 'ms',
        detail: `over ${waitsMs.length} caller waits in ${EXPIRIES} expiries`,
      },
      {
        case: `${name}: wait of the ${callers} callers during a fleet refresh, p99`,
        value: percentile(waitsMs, 99),
        unit: 'ms',
        detail: `max ${percentile(waitsMs, 100).toFixed(1)} ms`,
      },
      {
        case: `${name}: fleet refresh end to end (lock + server + persist), median`,
        value: median(totalMs),
        unit: 'ms',
        detail: `p99 ${percentile(totalMs, 99).toFixed(1)} ms; of which lock wait median ${median(lockWaitMs).toFixed(1)} ms, token request median ${median(serverMs).toFixed(1)} ms; first caller → 'refreshed' in the process that refreshed`,
      },
    ];
  } finally {
    await Promise.allSettled(members.map((member) => member.close()));
    await host.close();
    await opened.close();
  }
}
