/**
 * The store contract (`offline-tokens/testing`), run against every Keyv the SDK is used with: in
 * memory, SQLite (node:sqlite, a temp file), Redis (@keyv/redis through createRedisStore) and
 * PostgreSQL (@keyv/postgres), the last two on real servers started for this file. Then how store
 * failures surface, with a failing adapter and a real Redis that freezes or refuses writes.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import KeyvPostgres from '@keyv/postgres';
import Keyv from 'keyv';
import { createClient } from 'redis';
import { SqliteStore, StoreError } from 'offline-tokens';
import { createPostgresLock } from 'offline-tokens/postgres';
import { createRedisStore } from 'offline-tokens/redis';
import { makeGrant, makePending, runStoreContract } from 'offline-tokens/testing';
import { GrantStore } from '../src/storage/grant-store.ts';
import { startPostgres, startRedis, type PostgresServer, type RedisServer } from './support/servers.ts';

let redis: RedisServer;
let postgres: PostgresServer;
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'offline-tokens-stores-'));
  [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
});

after(async () => {
  await Promise.all([redis?.stop(), postgres?.stop()]);
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

runStoreContract({ name: 'memory', create: () => new Keyv() });
runStoreContract({ name: 'sqlite', create: () => new Keyv({ store: new SqliteStore({ path: join(dir, 'store.sqlite') }) }) });
runStoreContract({ name: 'redis', create: () => createRedisStore({ url: redis.url }) });
runStoreContract({
  name: 'postgres',
  create: () => new Keyv({ store: new KeyvPostgres({ uri: postgres.connectionString }) }),
  // @keyv/postgres's delete() reads then deletes, so concurrent deletes all return true: takes need the lock.
  lock: () => createPostgresLock({ connectionString: postgres.connectionString }),
});

describe('store failures become StoreError, never "no grant"', () => {
  test('an adapter that throws', async () => {
    const failure = new Error('connection refused');
    const keyv = new Keyv({ store: fakeAdapter(() => Promise.reject(failure)) });
    const store = new GrantStore(keyv, { operationTimeoutMs: 1_000 });
    const grant = makeGrant('user-1');
    await assert.rejects(store.getGrant('user-1'), isStoreError);
    await assert.rejects(store.setGrant(grant), isStoreError);
    await assert.rejects(store.deleteGrant('user-1'), isStoreError);
    await assert.rejects(store.putPending('state', makePending(), 1_000), isStoreError);
    await assert.rejects(store.takePending('state'), isStoreError);
    // The cause is a summary of the adapter's error (name and message), never the object itself.
    await assert.rejects(store.getGrant('user-1'), (error) => isStoreError(error) && ((error as StoreError).cause as Error).message === failure.message);
  });

  test('an adapter that never answers', async () => {
    const keyv = new Keyv({ store: fakeAdapter(() => new Promise(() => {})) });
    const store = new GrantStore(keyv, { operationTimeoutMs: 50 });
    await assert.rejects(store.getGrant('user-1'), isStoreError);
    await assert.rejects(store.setGrant(makeGrant('user-1')), isStoreError);
  });
});

describe('Redis failures (createRedisStore)', () => {
  let keyv: Keyv;
  let store: GrantStore;
  let admin: ReturnType<typeof createClient>;
  before(async () => {
    keyv = createRedisStore({ url: redis.url }, { namespace: 'failures' });
    store = new GrantStore(keyv, { operationTimeoutMs: 300 });
    admin = createClient({ url: redis.url });
    await admin.connect();
  });
  after(async () => {
    await keyv?.disconnect();
    await admin?.close();
  });

  test('a frozen server: reads fail with StoreError; once it answers again, the data is there', async () => {
    const grant = makeGrant(`user-${randomUUID()}`);
    await store.setGrant(grant);
    redis.freeze();
    try {
      await assert.rejects(store.getGrant(grant.key), isStoreError);
      await assert.rejects(store.setGrant({ ...grant, rotations: 1 }), isStoreError);
    } finally {
      redis.thaw();
    }
    const afterOutage = await store.getGrant(grant.key);
    // The write sent during the outage may land once the server resumes: either version, never none.
    assert.ok(afterOutage !== undefined);
    assert.equal(afterOutage.key, grant.key);
  });

  test('a server refusing writes (out of memory): setGrant fails with StoreError', async () => {
    await admin.configSet('maxmemory', '1');
    try {
      await assert.rejects(store.setGrant(makeGrant(`user-${randomUUID()}`)), isStoreError);
    } finally {
      await admin.configSet('maxmemory', '0');
    }
  });

  test('a read answered with an error (wrong type): getGrant fails with StoreError', async () => {
    const key = `user-${randomUUID()}`;
    await admin.hSet(`failures::grant:${key}`, 'field', 'value');
    await assert.rejects(store.getGrant(key), isStoreError);
  });
});

function isStoreError(error: unknown): boolean {
  return error instanceof StoreError && error.code === 'ERR_STORE_UNAVAILABLE';
}

/** A Keyv store adapter whose every operation settles like `operation()`. */
function fakeAdapter(operation: () => Promise<never>) {
  return Object.assign(new EventEmitter(), {
    opts: {},
    namespace: undefined as string | undefined,
    get: operation,
    set: operation,
    delete: operation,
    clear: operation,
    has: operation,
  });
}

