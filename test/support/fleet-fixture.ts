/**
 * The fleet tests' shared fixture: the real authorization server, Redis and PostgreSQL started once
 * per test file, a pool of fleet worker processes reused across its scenarios (killed at the end),
 * and the small builders every fleet test needs (a backend by name, a manager in this process on it,
 * a worker config).
 *
 * @example
 * ```ts
 * const fleet = useFleetServers({ workers: 8 });
 * it('...', async () => {
 *   const backend = fleet.backendOf('redis');
 *   const host = await fleet.hostManager(backend, () => now);
 *   const members = await fleet.spawn(fleet.fleetConfig({ backend, key, now }), 8);
 *   try { ... } finally {
 *     await fleet.stop(members);
 *     await host.close();
 *   }
 * });
 * ```
 * @module
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTokenManager, type TokenManager } from 'offline-tokens';
import { startAuthorizationServer, type AuthorizationServer } from './authorization-server.ts';
import { createFleetPool, type FleetMember } from './fleet-member.ts';
import { openBackend, type FleetBackend, type FleetWorkerConfig } from './fleet-worker.ts';
import { managerOptions, TEST_NAMESPACE } from './harness.ts';
import { startPostgres, startRedis, type PostgresServer, type RedisServer } from './servers.ts';

/** A fleet's backend by name: store and lock on one Redis, one PostgreSQL, or one SQLite file. */
export type FleetBackendName = 'redis' | 'postgres' | 'sqlite-file';

/** A manager in this process on the fleet's backend, with its own connections and cache (another host). */
export interface HostManager {
  tokens: TokenManager;
  /** Closes the manager, then its store and lock connections. */
  close(): Promise<void>;
}

/** What a fleet test sets in a worker config; the rest (server, client, namespace) is the fixture's. */
export type FleetFields = Omit<FleetWorkerConfig, 'issuer' | 'client' | 'redirectUri' | 'namespace'>;

/** The servers of one test file and the builders on them. The servers are there from `before` on. */
export interface FleetServers {
  readonly idp: AuthorizationServer;
  readonly redis: RedisServer;
  readonly postgres: PostgresServer;
  /**
   * The backend called `name`. `port` reaches Redis or PostgreSQL on another port (a proxy in front
   * of it); `key` names the SQLite file (one per grant, in a directory removed in `after`).
   */
  backendOf(name: FleetBackendName, options?: { key?: string; port?: number }): FleetBackend;
  /** A manager in this process on `backend` (the `post` client, the test namespace), on the clock `now`. */
  hostManager(backend: FleetBackend, now: () => number, leaseTtlMs?: number): Promise<HostManager>;
  /** A worker config on this file's server and `post` client, in the test namespace. */
  fleetConfig(fields: FleetFields): FleetWorkerConfig;
  /** The server's discovery document: workers given it as `metadata` run with `discovery: false`. */
  serverMetadata(): Promise<Record<string, unknown>>;
  /**
   * `count` workers on `config`, each a new manager (new connections, empty cache, its own clock) in
   * a worker process of this file's pool: booted once, reused by the next scenarios once closed, a
   * killed one replaced (`fleet-member.ts`). The pool's processes are killed in `after`.
   */
  spawn(config: FleetWorkerConfig, count: number): Promise<FleetMember[]>;
  /** Closes `members` (each ends its manager; its process goes back to the pool). */
  stop(members: readonly FleetMember[]): Promise<void>;
}

/**
 * Registers this file's `before` (start the authorization server, Redis and PostgreSQL, and boot
 * `workers` pooled worker processes meanwhile) and `after` (end the pool's processes, stop the
 * servers, remove the SQLite directory) hooks. Call it once, at module level. `postgres: false`
 * skips PostgreSQL for a file that does not use it.
 */
export function useFleetServers({ workers = 0, postgres: withPostgres = true }: { workers?: number; postgres?: boolean } = {}): FleetServers {
  let idp: AuthorizationServer | undefined;
  let redis: RedisServer | undefined;
  let postgres: PostgresServer | undefined;
  let dir: string | undefined;
  const pool = createFleetPool();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'offline-tokens-fleet-'));
    [idp, redis, postgres] = await Promise.all([
      startAuthorizationServer(),
      startRedis(),
      withPostgres ? startPostgres() : undefined,
      pool.warm(workers),
    ]);
  });

  after(async () => {
    await pool.close();
    await Promise.all([idp?.close(), redis?.stop(), postgres?.stop()]);
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('The fleet servers are started in `before` (PostgreSQL unless `postgres: false`): use them inside a test');
    return value;
  };

  const servers: FleetServers = {
    get idp() { return started(idp); },
    get redis() { return started(redis); },
    get postgres() { return started(postgres); },

    backendOf(name, { key = name, port } = {}) {
      switch (name) {
        case 'redis':
          return { kind: 'redis', url: port === undefined ? servers.redis.url : `redis://127.0.0.1:${port}` };
        case 'postgres': {
          const { connectionString, port: own } = servers.postgres;
          return { kind: 'postgres', connectionString: port === undefined ? connectionString : connectionString.replace(`:${own}/`, `:${port}/`) };
        }
        case 'sqlite-file':
          return { kind: 'sqlite', sqlitePath: join(started(dir), `${key}.sqlite`) };
      }
    },

    async hostManager(backend, now, leaseTtlMs) {
      const opened = await openBackend(backend, leaseTtlMs);
      const tokens = await createTokenManager(managerOptions(servers.idp, 'post', { ...opened.options, now }));
      return {
        tokens,
        async close() {
          await tokens.close();
          await opened.close();
        },
      };
    },

    fleetConfig(fields) {
      const { issuer, clients, redirectUri } = servers.idp;
      return { issuer, client: clients.post, redirectUri, namespace: TEST_NAMESPACE, ...fields };
    },

    async serverMetadata() {
      const response = await fetch(`${servers.idp.issuer}/.well-known/openid-configuration`);
      return await response.json() as Record<string, unknown>;
    },

    spawn: (config, count) => pool.spawn(config, count),

    async stop(members) {
      await Promise.all(members.map((member) => member.close()));
    },
  };
  return servers;
}

/**
 * Polls `condition` every 5 ms until it holds.
 * @throws when it still does not hold after `timeoutMs`, naming `what` was awaited.
 * @example
 * ```ts
 * await until(() => proxy.received === 1, 'the refresh request to reach the proxy', 20_000);
 * ```
 */
export async function until(condition: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(5);
  }
}
