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
import { consentGrant, createManager, issueRefreshToken, startIdp, type AuthorizationServer } from './fixtures.ts';
import { median, percentile } from './measure.ts';
import { verdict, type Row, type Section, type SectionContext } from './section.ts';

/** Interleaved rounds; each times REFRESHES_PER_ROUND refreshes of each candidate. */
const ROUNDS = 9;
const REFRESHES_PER_ROUND = 20;
const WARMUP_REFRESHES = 10;
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

async function runRefreshStores(context: SectionContext): Promise<Row[]> {
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
    for (const backend of backends) {
      for (const path of ['compare-and-set', 'read-then-write'] as const) {
        rows.push(...await measureBackend(idp, config, backend, path, context));
      }
    }
  } finally {
    await pgAdmin.end().catch(() => {});
    await Promise.all([redis.stop(), postgres.stop(), idp.close()]);
  }
  return rows;
}

async function measureBackend(idp: AuthorizationServer, config: client.Configuration, backend: Backend, path: 'compare-and-set' | 'read-then-write', context: SectionContext): Promise<Row[]> {
  const store = backend.store();
  const lock = backend.lock();
  if (path === 'read-then-write') process.env.OFFLINE_TOKENS_STORE_CAS = '0';
  let tokens: TokenManager;
  try {
    tokens = await createManager(idp, { store, lock });
  } finally {
    delete process.env.OFFLINE_TOKENS_STORE_CAS;
  }
  const key = `stores-${backend.name}-${path}`;
  try {
    await consentGrant(tokens, idp, key);
    let rawRefreshToken = (await issueRefreshToken(tokens, store, idp, `${key}-raw`)).refreshToken;
    const sdk = async (refreshes: number): Promise<void> => {
      for (let i = 0; i < refreshes; i++) await tokens.getAccessToken(key, { forceRefresh: true });
    };
    const raw = async (refreshes: number): Promise<void> => {
      for (let i = 0; i < refreshes; i++) {
        const response = await client.refreshTokenGrant(config, rawRefreshToken);
        rawRefreshToken = response.refresh_token!;
      }
    };
    await sdk(WARMUP_REFRESHES);
    await raw(WARMUP_REFRESHES);

    // Round trips: an untimed run of the SDK alone, counted at the server.
    const roundTrips = (await backend.roundTrips(() => sdk(REFRESHES_PER_ROUND))) / REFRESHES_PER_ROUND;
    idp.resetCounters();

    const sdkMs: number[] = [];
    const rawMs: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? [sdk, raw] : [raw, sdk];
      for (const candidate of order) {
        const start = process.hrtime.bigint();
        await candidate(REFRESHES_PER_ROUND);
        const ms = Number(process.hrtime.bigint() - start) / 1e6 / REFRESHES_PER_ROUND;
        (candidate === sdk ? sdkMs : rawMs).push(ms);
      }
    }
    const { refreshRequests, refreshSuccesses, reusedRefreshTokens } = idp.counters;
    if (refreshSuccesses !== refreshRequests || reusedRefreshTokens !== 0) throw new Error(`refresh stores: ${refreshRequests - refreshSuccesses} refreshes failed, ${reusedRefreshTokens} reused tokens`);
    const ratios = sdkMs.map((ms, round) => ms / rawMs[round]!);
    const ratio = median(ratios);
    const label = `${backend.name}, ${path}`;
    const cas = path === 'compare-and-set';
    const latencyTarget = TARGET_LATENCY[backend.name]!;
    void context;
    return [
      {
        case: `${label}: store round trips per forced refresh (counted at the server)`,
        value: roundTrips,
        unit: 'count',
        ...(cas ? { target: `≤ ${TARGET_ROUND_TRIPS}`, verdict: verdict(roundTrips <= TARGET_ROUND_TRIPS) } : {}),
        detail: `${REFRESHES_PER_ROUND} refreshes, ${backend.name === 'redis' ? 'commands seen by Redis MONITOR (script-internal excluded)' : 'pg_stat_statements calls delta'} ÷ refreshes`,
      },
      {
        case: `${label}: refresh latency ÷ bare refreshTokenGrant (same round)`,
        value: ratio,
        unit: 'ratio',
        ...(cas ? { target: `≤ ${latencyTarget.toFixed(2)}`, verdict: verdict(ratio <= latencyTarget) } : {}),
        detail: `median of ${ROUNDS} interleaved rounds × ${REFRESHES_PER_ROUND} refreshes, p10–p90 ${range(ratios, 2)}; SDK ${median(sdkMs).toFixed(2)} ms (p10–p90 ${range(sdkMs, 2)}), bare ${median(rawMs).toFixed(2)} ms (p10–p90 ${range(rawMs, 2)}); SDK − bare ${(median(sdkMs) - median(rawMs)).toFixed(2)} ms`,
      },
    ];
  } finally {
    await tokens.close();
    await lock.close?.();
    await store.disconnect();
  }
}

function discoverRaw(idp: AuthorizationServer): Promise<client.Configuration> {
  return client.discovery(
    new URL(idp.issuer),
    idp.clients.post.clientId,
    { redirect_uris: [idp.redirectUri], token_endpoint_auth_method: 'client_secret_post' },
    client.ClientSecretPost(idp.clients.post.clientSecret),
    { execute: [client.allowInsecureRequests] },
  );
}

function range(values: number[], digits: number): string {
  return `${percentile(values, 10).toFixed(digits)}–${percentile(values, 90).toFixed(digits)}`;
}
