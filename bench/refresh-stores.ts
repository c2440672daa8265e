/**
 * A refresh with the real store in the loop: `getAccessToken(key, { forceRefresh: true })` on Redis
 * (`createRedisStore` + `createRedisLock`) and on PostgreSQL (`@keyv/postgres` + `createPostgresLock`),
 * both servers started by the bench, against a bare openid-client `refreshTokenGrant` on its own
 * rotation chain at the same authorization server, interleaved round by round. Round trips per
 * refresh are counted at the server: Redis `MONITOR` (commands clients sent, not those run inside a
 * script), PostgreSQL `pg_stat_statements` call deltas. Each backend runs with its compare-and-set and with the generic
 * read-then-write (`OFFLINE_TOKENS_STORE_CAS=0`).
 * @module
 */
import KeyvPostgres from '@keyv/postgres';
import Keyv from 'keyv';
import pg from 'pg';
import * as client from 'openid-client';
import { createClient } from 'redis';
import type { GrantLock, TokenManager } from 'offline-tokens';
import { createPostgresLock } from 'offline-tokens/postgres';
import { createRedisLock, createRedisStore } from 'offline-tokens/redis';
import { startPostgres, startRedis } from '../test/support/servers.ts';
import { consentGrant, createManager, discoverRaw, issueRefreshToken, startIdp, type AuthorizationServer } from './fixtures.ts';
import { median, spread } from './measure.ts';
import { verdict, type Row, type Section } from './section.ts';

/** Interleaved rounds; each times REFRESHES_PER_ROUND refreshes of each candidate. */
const ROUNDS = 9;
const REFRESHES_PER_ROUND = 20;
const WARMUP_REFRESHES = 30;
const TARGET_ROUND_TRIPS = 4;
const TARGET_LATENCY: Record<string, number> = { redis: 1.4, postgres: 1.6 };

/** The refresh-with-a-real-store section. */
export const refreshStores: Section = {
  id: 'refresh-stores',
  title: 'Refresh through Redis and PostgreSQL',
  run: runRefreshStores,
};

interface Backend {
  name: 'redis' | 'postgres';
  store(): Keyv;
  lock(): GrantLock;
  /** Commands (Redis) or statements (PostgreSQL) clients sent while `run` ran, counted at the server. */
  roundTrips(run: () => Promise<void>): Promise<number>;
}

async function runRefreshStores(): Promise<Row[]> {
  const idp = await startIdp();
  const [redis, postgres] = await Promise.all([
    startRedis(),
    startPostgres({ settings: ['shared_preload_libraries=pg_stat_statements', 'pg_stat_statements.track=all'] }),
  ]);
  const pgAdmin = new pg.Client({ connectionString: postgres.connectionString });
  await pgAdmin.connect();
  await pgAdmin.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  const backends: Backend[] = [
    {
      name: 'redis',
      store: () => createRedisStore({ url: redis.url }),
      lock: () => createRedisLock({ url: redis.url }),
      async roundTrips(run) {
        // MONITOR shows every command a client sent; commands run inside a script are tagged "lua".
        const monitor = createClient({ url: redis.url });
        await monitor.connect();
        let commands = 0;
        await monitor.monitor((line: string) => {
          if (!/\[\d+ lua\]/.test(line)) commands++;
        });
        await run();
        await new Promise((resolve) => setTimeout(resolve, 100));
        monitor.destroy();
        return commands;
      },
    },
    {
      name: 'postgres',
      store: () => new Keyv({ store: new KeyvPostgres({ uri: postgres.connectionString }) }),
      lock: () => createPostgresLock({ connectionString: postgres.connectionString }),
      async roundTrips(run) {
        const count = async (): Promise<number> => {
          const result = await pgAdmin.query(`SELECT coalesce(sum(calls), 0)::bigint AS calls FROM pg_stat_statements WHERE query NOT ILIKE '%pg_stat_statements%'`);
          return Number(result.rows[0].calls);
        };
        const before = await count();
        await run();
        return (await count()) - before;
      },
    },
  ];
  const rows: Row[] = [];
  try {
    const config = await discoverRaw(idp);
    for (const backend of backends) rows.push(...await measureBackend(idp, config, backend));
  } finally {
    await pgAdmin.end().catch(() => {});
    await Promise.all([redis.stop(), postgres.stop(), idp.close()]);
  }
  return rows;
}

/** A manager refreshing its own grant on the backend, with or without the compare-and-set. */
interface Refresher {
  path: 'compare-and-set' | 'read-then-write';
  tokens: TokenManager;
  store: Keyv;
  lock: GrantLock;
  key: string;
}

async function openRefresher(idp: AuthorizationServer, backend: Backend, path: Refresher['path']): Promise<Refresher> {
  const store = backend.store();
  const lock = backend.lock();
  if (path === 'read-then-write') process.env.OFFLINE_TOKENS_STORE_CAS = '0';
  try {
    const tokens = await createManager(idp, { store, lock });
    const key = `stores-${backend.name}-${path}`;
    await consentGrant(tokens, idp, key);
    return { path, tokens, store, lock, key };
  } finally {
    delete process.env.OFFLINE_TOKENS_STORE_CAS;
  }
}

/**
 * The SDK with the compare-and-set, the SDK with the read-then-write, and the bare client, timed in
 * the same rounds (order rotated each round); ratios are per round against the bare client.
 */
async function measureBackend(idp: AuthorizationServer, config: client.Configuration, backend: Backend): Promise<Row[]> {
  const refreshers = [await openRefresher(idp, backend, 'compare-and-set'), await openRefresher(idp, backend, 'read-then-write')];
  try {
    let rawRefreshToken = (await issueRefreshToken(refreshers[0]!.tokens, refreshers[0]!.store, idp, `stores-${backend.name}-raw`)).refreshToken;
    const sdk = (refresher: Refresher) => async (refreshes: number): Promise<void> => {
      for (let i = 0; i < refreshes; i++) await refresher.tokens.getAccessToken(refresher.key, { forceRefresh: true });
    };
    const raw = async (refreshes: number): Promise<void> => {
      for (let i = 0; i < refreshes; i++) {
        const response = await client.refreshTokenGrant(config, rawRefreshToken);
        rawRefreshToken = response.refresh_token!;
      }
    };
    const candidates = [raw, ...refreshers.map(sdk)];
    for (const candidate of candidates) await candidate(WARMUP_REFRESHES);

    // Round trips: an untimed run of each SDK path alone, counted at the server.
    const roundTrips: number[] = [];
    for (const refresher of refreshers) roundTrips.push((await backend.roundTrips(() => sdk(refresher)(REFRESHES_PER_ROUND))) / REFRESHES_PER_ROUND);
    idp.resetCounters();

    const samples = candidates.map((): number[] => []);
    for (let round = 0; round < ROUNDS; round++) {
      for (let j = 0; j < candidates.length; j++) {
        const index = (round + j) % candidates.length;
        const start = process.hrtime.bigint();
        await candidates[index]!(REFRESHES_PER_ROUND);
        samples[index]!.push(Number(process.hrtime.bigint() - start) / 1e6 / REFRESHES_PER_ROUND);
      }
    }
    const { refreshRequests, refreshSuccesses, reusedRefreshTokens } = idp.counters;
    if (refreshSuccesses !== refreshRequests || reusedRefreshTokens !== 0) throw new Error(`refresh stores: ${refreshRequests - refreshSuccesses} refreshes failed, ${reusedRefreshTokens} reused tokens`);
    const rawMs = samples[0]!;
    const latencyTarget = TARGET_LATENCY[backend.name]!;
    return refreshers.flatMap((refresher, i): Row[] => {
      const sdkMs = samples[i + 1]!;
      const ratios = sdkMs.map((ms, round) => ms / rawMs[round]!);
      const ratio = median(ratios);
      const label = `${backend.name}, ${refresher.path}`;
      const cas = refresher.path === 'compare-and-set';
      return [
        {
          case: `${label}: store round trips per forced refresh (counted at the server)`,
          value: roundTrips[i]!,
          unit: 'count',
          ...(cas ? { target: `≤ ${TARGET_ROUND_TRIPS}`, verdict: verdict(roundTrips[i]! <= TARGET_ROUND_TRIPS) } : {}),
          detail: `${REFRESHES_PER_ROUND} refreshes, ${backend.name === 'redis' ? 'commands seen by Redis MONITOR (script-internal excluded)' : 'pg_stat_statements calls delta'} ÷ refreshes`,
        },
        {
          case: `${label}: refresh latency ÷ bare refreshTokenGrant (same round)`,
          value: ratio,
          unit: 'ratio',
          ...(cas ? { target: `≤ ${latencyTarget.toFixed(2)}`, verdict: verdict(ratio <= latencyTarget) } : {}),
          detail: `median of ${ROUNDS} rounds × ${REFRESHES_PER_ROUND} refreshes (CAS, fallback and bare interleaved, order rotated), p10–p90 ${spread(ratios, 2)}; SDK ${median(sdkMs).toFixed(2)} ms (p10–p90 ${spread(sdkMs, 2)}), bare ${median(rawMs).toFixed(2)} ms (p10–p90 ${spread(rawMs, 2)}); SDK − bare ${(median(sdkMs) - median(rawMs)).toFixed(2)} ms`,
        },
      ];
    });
  } finally {
    for (const refresher of refreshers) {
      await refresher.tokens.close();
      await refresher.lock.close?.();
      // @keyv/postgres shares one pool per URL: the second disconnect finds it ended.
      await refresher.store.disconnect().catch(() => {});
    }
  }
}
