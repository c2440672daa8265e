/**
 * On real Redis and PostgreSQL, when the lock and the store share the server, the lease is taken
 * with the grant read and (when the record is the one this process last wrote) the in-flight marker
 * written, and the last write of a refresh releases the lease in its own round trip: a forced
 * refresh is then two round trips (lease + read + marker, persist + release), counted at the server. At the lease
 * level: a final write whose compare fails writes nothing and keeps the lease held until the
 * callback ends (the transaction adopts what it found; nobody else may take the lease meanwhile).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import KeyvPostgres from '@keyv/postgres';
import Keyv from 'keyv';
import pg from 'pg';
import { createClient } from 'redis';
import { createTokenManager, type GrantLock, type Lease } from 'offline-tokens';
import { createPostgresLock } from 'offline-tokens/postgres';
import { createRedisLock, createRedisStore } from 'offline-tokens/redis';
import { startAuthorizationServer, type AuthorizationServer } from './support/authorization-server.ts';
import { connect, managerOptions } from './support/harness.ts';
import { startPostgres, startRedis, type PostgresServer, type RedisServer } from './support/servers.ts';

/** The composition root's hook for a lock that reads the grant with the lease (`src/locks/lease.ts`). */
const WITH_PREFETCH = Symbol.for('offline-tokens.lock.withPrefetch');
type WithPrefetch = (adapter: object, recordKey: (lockKey: string) => string | undefined) => GrantLock | undefined;

let idp: AuthorizationServer;
let redis: RedisServer;
let postgres: PostgresServer;

before(async () => {
  [idp, redis, postgres] = await Promise.all([
    startAuthorizationServer(),
    startRedis(),
    startPostgres({ settings: ['shared_preload_libraries=pg_stat_statements', 'pg_stat_statements.track=all'] }),
  ]);
});

after(async () => {
  await Promise.all([idp?.close(), redis?.stop(), postgres?.stop()]);
});

describe('a forced refresh through the store and lock of one server', () => {
  test('Redis: 2 commands (lease + read + marker, persist + release), no lease left', async () => {
    const store = createRedisStore({ url: redis.url });
    const lock = createRedisLock({ url: redis.url });
    const tokens = await createTokenManager({ ...managerOptions(idp, 'post'), store, lock });
    const monitor = createClient({ url: redis.url });
    try {
      await connect(tokens, idp, 'redis-user');
      await tokens.getAccessToken('redis-user', { forceRefresh: true }); // scripts loaded, connections open
      await monitor.connect();
      const commands: string[] = [];
      await monitor.monitor((line: string) => {
        if (!/\[\d+ lua\]/.test(line)) commands.push(line.split('"')[1] ?? line);
      });
      const before = idp.counters.refreshRequests;
      for (let i = 0; i < 5; i++) await tokens.getAccessToken('redis-user', { forceRefresh: true });
      // MONITOR lines arrive on their own connection: wait until the last refresh's are in.
      const scripts = (): string[] => commands.filter((command) => command.startsWith('EVAL'));
      for (let waited = 0; scripts().length < 10 && waited < 250; waited++) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(idp.counters.refreshRequests - before, 5);
      assert.deepEqual(scripts(), Array.from({ length: 5 }, () => ['EVALSHA', 'EVALSHA']).flat());
      // Besides: only reads of a waiter watching the store, when taking the lease took over 20 ms (a loaded machine).
      assert.deepEqual(commands.filter((command) => !command.startsWith('EVAL') && command !== 'GET'), []);
      const client = await createClient({ url: redis.url }).connect();
      try {
        assert.deepEqual(await client.keys('offline-tokens:lock:*'), []);
      } finally {
        client.destroy();
      }
    } finally {
      monitor.destroy();
      await tokens.close();
      await lock.close?.();
      await store.disconnect();
    }
  });

  test('PostgreSQL: 2 statements (lease + read + marker, persist + release), no lease left', async () => {
    const admin = new pg.Client({ connectionString: postgres.connectionString });
    await admin.connect();
    await admin.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    const store = new Keyv({ store: new KeyvPostgres({ uri: postgres.connectionString }) });
    const lock = createPostgresLock({ connectionString: postgres.connectionString });
    const tokens = await createTokenManager({ ...managerOptions(idp, 'post'), store, lock });
    // Calls per statement: the lock's (lease + read + marker; persist + release), the store's (reads, compare-and-set).
    const calls = async (): Promise<Map<string, number>> => new Map((await admin.query(
      `SELECT query, calls::int AS calls FROM pg_stat_statements WHERE query NOT ILIKE '%pg_stat_statements%'`,
    )).rows.map((row: { query: string; calls: number }) => [row.query, row.calls]));
    try {
      await connect(tokens, idp, 'pg-user');
      await tokens.getAccessToken('pg-user', { forceRefresh: true });
      const before = await calls();
      for (let i = 0; i < 5; i++) await tokens.getAccessToken('pg-user', { forceRefresh: true });
      const delta = [...await calls()].map(([query, n]) => [query.replace(/\s+/g, ' '), n - (before.get(query) ?? 0)] as const).filter(([, n]) => n > 0);
      const count = (pattern: RegExp): number => delta.filter(([query]) => pattern.test(query)).reduce((sum, [, n]) => sum + n, 0);
      assert.equal(count(/^WITH acquired AS/), 5, 'lease + read + marker');
      assert.equal(count(/^WITH written AS .* released AS/), 5, 'persist + release');
      // Besides: only reads of a waiter watching the store, when taking the lease took over 20 ms (a loaded machine).
      assert.deepEqual(delta.filter(([query]) => !/^WITH acquired AS|^WITH written AS .* released AS|^SELECT \* FROM/.test(query)), []);
      assert.equal((await admin.query('SELECT count(*)::int AS n FROM offline_tokens_locks')).rows[0].n, 0);
    } finally {
      await tokens.close();
      await lock.close?.();
      await store.disconnect().catch(() => {});
      await admin.end();
    }
  });
});

describe('a record changed by another process since this one last saw it', () => {
  test('Redis: a new consent meanwhile: the marker is not written over it, the new grant is refreshed', async () => {
    const open = async () => {
      const store = createRedisStore({ url: redis.url }, { namespace: 'turns' });
      const lock = createRedisLock({ url: redis.url });
      return { store, lock, tokens: await createTokenManager({ ...managerOptions(idp, 'post'), store, lock }) };
    };
    const [a, b] = [await open(), await open()];
    try {
      await connect(a.tokens, idp, 'turns-user');
      const first = await a.tokens.getAccessToken('turns-user', { forceRefresh: true });
      // b stores a new consent: a's last view of the record (its own write) is stale.
      await connect(b.tokens, idp, 'turns-user');
      const consented = await b.tokens.getAccessToken('turns-user');
      const errorsBefore = idp.counters.refreshErrors.invalid_grant ?? 0;
      const refreshed = await a.tokens.getAccessToken('turns-user', { forceRefresh: true });
      assert.ok(refreshed !== first && refreshed !== consented, 'a new access token, of the new grant');
      assert.equal(idp.counters.reusedRefreshTokens, 0);
      assert.equal(idp.counters.refreshErrors.invalid_grant ?? 0, errorsBefore);
      const info = await b.tokens.getGrant('turns-user');
      assert.equal(info?.status, 'active');
      assert.equal(info?.rotations, 1, 'the new consent, rotated once by a');
    } finally {
      for (const { tokens, lock, store } of [a, b]) {
        await tokens.close();
        await lock.close?.();
        await store.disconnect();
      }
    }
  });
});

describe('a final write whose compare fails', () => {
  const cases = [
    {
      name: 'Redis',
      open: () => ({ store: createRedisStore({ url: redis.url }, { namespace: 'final' }), lock: createRedisLock({ url: redis.url }) }),
    },
    {
      name: 'PostgreSQL',
      open: () => ({ store: new Keyv({ store: new KeyvPostgres({ uri: postgres.connectionString }) }), lock: createPostgresLock({ connectionString: postgres.connectionString }) }),
    },
  ];
  for (const { name, open } of cases) {
    test(`${name}: writes nothing, keeps the lease until the callback ends`, async () => {
      const { store, lock } = open();
      const other = name === 'Redis' ? createRedisLock({ url: redis.url }, { acquireTimeoutMs: 0 }) : createPostgresLock({ connectionString: postgres.connectionString }, { acquireTimeoutMs: 0 });
      const raw = async (value: string): Promise<string> => await store.serialize!({ value, expires: undefined }) as string;
      try {
        await store.set('record', 'theirs');
        const fused = (lock as unknown as { [WITH_PREFETCH]: WithPrefetch })[WITH_PREFETCH](store.store as object, () => (store.useKeyPrefix && store.namespace !== undefined ? `${store.namespace}:record` : 'record'));
        assert.ok(fused !== undefined, 'the lock reads the store of its own server');
        await fused.withLock(`final-${name}`, async (lease: Lease) => {
          assert.equal(lease.prefetched, await raw('theirs'));
          const result = await lease.writeAndRelease!(await raw('ours-before'), await raw('ours-after'));
          assert.deepEqual(result, { ok: false, current: await raw('theirs') });
          assert.equal(await store.get('record'), 'theirs');
          await assert.rejects(other.withLock(`final-${name}`, async () => {}), { code: 'ERR_LOCK_UNAVAILABLE' });
          // A final write that matches writes and frees the lease at once, before the callback ends.
          assert.deepEqual(await lease.writeAndRelease!(await raw('theirs'), await raw('ours-after')), { ok: true });
          assert.equal(await store.get('record'), 'ours-after');
          await other.withLock(`final-${name}`, async () => {});
        });
      } finally {
        await store.delete('record');
        await Promise.all([lock.close?.(), other.close?.()]);
        await store.disconnect().catch(() => {});
      }
    });
  }
});
