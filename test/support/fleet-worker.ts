/**
 * One process of a simulated fleet: a token manager on a shared backend (Redis, PostgreSQL or the
 * SQLite file), driven by its parent over IPC with a clock the parent sets. The parent side is
 * `fleet-member.ts` ({@link spawnFleet}, and the pool the fleet tests reuse across scenarios).
 *
 * Run as a child: `spawn(process.execPath, ['--conditions=source', fleetWorkerPath, JSON.stringify(config)],
 * { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })` for a worker that serves one config and exits when
 * closed, or without the config argument for a pooled worker. Protocol:
 * - pooled: worker → parent `{ type: 'idle' }` once booted; parent → worker `{ type: 'start', config }`;
 * - worker → parent `{ type: 'ready' }` once the manager is created (discovery done);
 * - parent → worker `{ type: 'round', now, callers }`: sets the clock to `now`, fires `callers`
 *   concurrent `getAccessToken(key)` (with `resources`: caller i asks for `resources[i % n]`) and
 *   answers {@link RoundResult} (`type: 'done'`);
 * - parent → worker `{ type: 'close' }`: closes the manager and the backend, answers `{ type: 'closed' }`;
 *   a worker started with a config then exits, a pooled one waits for the next `start`.
 * The worker exits by itself when its parent goes away (IPC disconnect).
 */
import { flushCompileCache } from 'node:module';
import type Keyv from 'keyv';
export { spawnFleet, type FleetMember } from './fleet-member.ts';
import { createTokenManager, type GrantLock, type TokenManager, type TokenManagerOptions } from 'offline-tokens';

/** Where the fleet keeps its grants and locks. */
export type FleetBackend =
  /** `createRedisStore` + `createRedisLock` from `offline-tokens/redis`. */
  | { kind: 'redis'; url: string }
  /** `new Keyv({ store: new KeyvPostgres({ uri }) })` + `createPostgresLock` from `offline-tokens/postgres`. */
  | { kind: 'postgres'; connectionString: string }
  /** The default store on this file with its built-in SQLite lock (or a `createSqliteLock` on the same file when `leaseTtlMs` is set). */
  | { kind: 'sqlite'; sqlitePath: string };

/** How a worker builds its manager. JSON: passed as the worker's argument. */
export interface FleetWorkerConfig {
  issuer: string;
  client: { clientId: string; clientSecret?: string };
  redirectUri: string;
  backend: FleetBackend;
  /** Lease of the cross-process lock. Default: the lock's own (30 000). */
  leaseTtlMs?: number;
  /** The manager's `requestTimeoutMs`. Default: the manager's own (10 000). */
  requestTimeoutMs?: number;
  /** The grant every caller asks for. */
  key: string;
  /** The manager's store namespace (the parent's manager must use the same). Default: derived from issuer and client. */
  namespace?: string;
  /**
   * The server's metadata: the worker then runs with `discovery: false` (no metadata request at all),
   * while the parent's manager discovers, so the fleet guarantees are checked in both modes.
   */
  metadata?: Record<string, unknown>;
  /** The clock's value until the first round, epoch ms. */
  now: number;
  /** Added to every clock value the parent sends: this host's clock runs ahead (> 0) or behind (< 0). Default 0. */
  clockOffsetMs?: number;
  /**
   * The clock runs in real time from the last value the parent set (instead of standing still until
   * the next round), as a host's clock does: for tests where the age of a marker written by another
   * process matters. Default false.
   */
  clockRuns?: boolean;
  /**
   * Send token endpoint requests to this origin instead (a test proxy in front of the server); the
   * rest (discovery, introspection) goes to the server directly.
   */
  tokenEndpointVia?: string;
}

/** parent → worker. */
export type FleetCommand =
  | { type: 'start'; config: FleetWorkerConfig }
  | { type: 'round'; now: number; callers: number; resources?: string[] }
  | { type: 'close' };

/** What a round saw in one worker. */
export interface RoundResult {
  type: 'done';
  /** The distinct access tokens the callers got. */
  tokens: string[];
  /** With `resources`: the distinct access tokens got for each resource. */
  tokensByResource?: Record<string, string[]>;
  /** `code` of every caller that failed (`ERR_REAUTH_REQUIRED`, ...), one entry per failed caller. */
  errors: string[];
  /** The distinct `reason`s of the `ReauthRequiredError`s among them. */
  reasons: string[];
  /** p50, p99 and max of the callers' waits, ms. */
  waitsMs: [number, number, number];
  /** Every caller's wait, ms. */
  latenciesMs: number[];
  /** Present when this worker refreshed the grant in this round (its manager emitted `refreshed`). */
  refresh?: {
    /** First caller fired → `refreshed` emitted: lock + server + persist, ms. */
    totalMs: number;
    /** Waiting for the cross-process lock (the last acquisition before the refresh), ms; absent for the built-in SQLite lock. */
    lockWaitMs?: number;
    /** The token endpoint request, from send to response headers, ms. */
    serverMs?: number;
  };
}

/** worker → parent. */
export type FleetReply = { type: 'idle' } | { type: 'ready' } | RoundResult | { type: 'closed' } | { type: 'error'; message: string };

/** What a manager needs from a backend, and how to release it. */
export interface OpenedBackend {
  options: Pick<TokenManagerOptions, 'store' | 'lock' | 'sqlitePath'>;
  /** Closes what the manager does not close itself (a store or lock passed to it). */
  close(): Promise<void>;
}

/**
 * Opens the store and lock a fleet member uses on `backend`, as a user would configure them.
 * `wrapLock` sees the lock before the manager does (for timing).
 */
export async function openBackend(backend: FleetBackend, leaseTtlMs?: number, wrapLock: (lock: GrantLock) => GrantLock = (lock) => lock): Promise<OpenedBackend> {
  const leaseOptions = leaseTtlMs === undefined ? {} : { leaseTtlMs };
  switch (backend.kind) {
    case 'redis': {
      const { createRedisLock, createRedisStore } = await import('offline-tokens/redis');
      const store = createRedisStore({ url: backend.url });
      const lock = createRedisLock({ url: backend.url }, leaseOptions);
      return { options: { store, lock: wrapLock(lock) }, close: () => closeBoth(store, lock) };
    }
    case 'postgres': {
      const [{ default: Keyv }, { default: KeyvPostgres }, { createPostgresLock }] = await Promise.all([
        import('keyv'),
        import('@keyv/postgres'),
        import('offline-tokens/postgres'),
      ]);
      const store = new Keyv({ store: new KeyvPostgres({ uri: backend.connectionString }) });
      const lock = createPostgresLock({ connectionString: backend.connectionString }, leaseOptions);
      return { options: { store, lock: wrapLock(lock) }, close: () => closeBoth(store, lock) };
    }
    case 'sqlite': {
      if (leaseTtlMs === undefined) {
        // The manager opens the file, its built-in lock on it, and closes both.
        return { options: { store: undefined, sqlitePath: backend.sqlitePath }, close: async () => {} };
      }
      // The built-in lock's lease is not configurable: the same lock table, through its own connection.
      const { createSqliteLock } = await import('offline-tokens');
      const lock = createSqliteLock({ database: backend.sqlitePath, ...leaseOptions });
      return { options: { store: undefined, sqlitePath: backend.sqlitePath, lock: wrapLock(lock) }, close: async () => lock.close?.() };
    }
  }
}

async function closeBoth(store: Keyv, lock: GrantLock): Promise<void> {
  await Promise.allSettled([store.disconnect(), lock.close?.()]);
}

/** p50, p99 and max by nearest rank. */
export function summarize(values: readonly number[]): [number, number, number] {
  if (values.length === 0) return [Number.NaN, Number.NaN, Number.NaN];
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
  return [rank(50), rank(99), sorted[sorted.length - 1]!];
}

// ---------------------------------------------------------------------------------------------
// Child side

/** What one caller got. */
interface CallerOutcome {
  token?: string;
  resource?: string | undefined;
  code?: string;
  reason?: string | undefined;
  waitMs: number;
}

interface RefreshTiming {
  startedAt: number;
  lockWaitMs?: number;
  serverMs?: number;
  totalMs?: number;
}

/** The composition root's hook for a lock that reads the grant with the lease (`src/locks/lease.ts`). */
const WITH_PREFETCH = Symbol.for('offline-tokens.lock.withPrefetch');

/** One scenario's manager in this process. */
interface Scenario {
  round(command: Extract<FleetCommand, { type: 'round' }>): Promise<RoundResult>;
  close(): Promise<void>;
}

/** A new manager on new store and lock connections, with its own clock and an empty cache. */
async function startScenario(config: FleetWorkerConfig): Promise<Scenario> {
  let nowMs = config.now;
  let setAt = performance.now();
  const clock = config.clockRuns === true
    ? () => nowMs + (config.clockOffsetMs ?? 0) + Math.floor(performance.now() - setAt)
    : () => nowMs + (config.clockOffsetMs ?? 0);
  let timing: RefreshTiming | undefined;
  // The manager prefixes lock keys with its namespace (`<namespace>:<key>`).
  const isGrantLock = (key: string): boolean => key === config.key || key.endsWith(`:${config.key}`);
  const timedLock = (lock: GrantLock): GrantLock => {
    const timed: GrantLock = {
      withLock(key, fn, options) {
        const asked = performance.now();
        return lock.withLock(key, (lease) => {
          if (timing !== undefined && isGrantLock(key)) timing.lockWaitMs = performance.now() - asked;
          return fn(lease);
        }, options);
      },
      close: () => lock.close?.() ?? Promise.resolve(),
    };
    // Keeps the lock's lease-and-read variant (the composition root asks for it), timed as well.
    const withPrefetch = (lock as { [WITH_PREFETCH]?: (adapter: object, recordKey: (lockKey: string) => string | undefined) => GrantLock | undefined })[WITH_PREFETCH];
    if (typeof withPrefetch !== 'function') return timed;
    return Object.assign(timed, {
      [WITH_PREFETCH]: (adapter: object, recordKey: (lockKey: string) => string | undefined) => {
        const fused = withPrefetch.call(lock, adapter, recordKey);
        return fused === undefined ? undefined : timedLock(fused);
      },
    });
  };
  const backend = await openBackend(config.backend, config.leaseTtlMs, timedLock);
  const tokens: TokenManager = await createTokenManager({
    issuer: config.issuer,
    clientId: config.client.clientId,
    clientSecret: config.client.clientSecret,
    redirectUri: config.redirectUri,
    allowInsecureRequests: true,
    retryMinDelayMs: 10,
    ...(config.namespace === undefined ? {} : { namespace: config.namespace }),
    ...(config.metadata === undefined ? {} : { discovery: false as const, metadata: config.metadata }),
    ...(config.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: config.requestTimeoutMs }),
    ...backend.options,
    now: clock,
    fetch: async (url, init) => {
      const target = new URL(url);
      const isTokenRequest = init.method === 'POST' && target.pathname === '/token';
      const sent = performance.now();
      try {
        return await globalThis.fetch(isTokenRequest && config.tokenEndpointVia !== undefined ? new URL(target.pathname, config.tokenEndpointVia) : url, init);
      } finally {
        if (timing !== undefined && isTokenRequest) timing.serverMs = performance.now() - sent;
      }
    },
  });
  tokens.on('refreshed', ({ key }) => {
    if (timing !== undefined && key === config.key) timing.totalMs = performance.now() - timing.startedAt;
  });

  async function round(callers: number, resources: string[] | undefined): Promise<RoundResult> {
    const current: RefreshTiming = { startedAt: performance.now() };
    timing = current;
    const outcomes = await Promise.all(Array.from({ length: callers }, async (_, index): Promise<CallerOutcome> => {
      const calledAt = performance.now();
      const resource = resources?.[index % resources.length];
      try {
        const token = await tokens.getAccessToken(config.key, resource === undefined ? undefined : { resource });
        return { token, resource, waitMs: performance.now() - calledAt };
      } catch (error) {
        const { code, reason } = error as { code?: string; reason?: string };
        return { code: code ?? String(error), reason, waitMs: performance.now() - calledAt };
      }
    }));
    const latenciesMs = outcomes.map((outcome) => outcome.waitMs);
    const result: RoundResult = {
      type: 'done',
      tokens: [...new Set(outcomes.flatMap((outcome) => (outcome.token === undefined ? [] : [outcome.token])))],
      errors: outcomes.flatMap((outcome) => (outcome.code === undefined ? [] : [outcome.code])),
      reasons: [...new Set(outcomes.flatMap((outcome) => (outcome.reason === undefined ? [] : [outcome.reason])))],
      waitsMs: summarize(latenciesMs),
      latenciesMs,
    };
    if (resources !== undefined) {
      result.tokensByResource = Object.fromEntries(resources.map((resource) => [resource,
        [...new Set(outcomes.flatMap((outcome) => (outcome.resource === resource && outcome.token !== undefined ? [outcome.token] : [])))]]));
    }
    if (current.totalMs !== undefined) {
      result.refresh = { totalMs: current.totalMs, lockWaitMs: current.lockWaitMs, serverMs: current.serverMs };
    }
    return result;
  }

  return {
    round(command) {
      nowMs = command.now;
      setAt = performance.now();
      return round(command.callers, command.resources);
    },
    async close() {
      await tokens.close().catch(() => {});
      await backend.close();
    },
  };
}

/**
 * Serves the parent's commands: one scenario when started with `config` (then exits on `close`),
 * else scenario after scenario, each begun by a `start`.
 */
function serve(config: FleetWorkerConfig | undefined): void {
  const reply = (message: FleetReply): void => {
    process.send?.(message);
  };
  const failed = (error: unknown): void => reply({ type: 'error', message: error instanceof Error ? error.stack ?? error.message : String(error) });
  let scenario: Promise<Scenario> | undefined;
  const start = (next: FleetWorkerConfig): void => {
    scenario = startScenario(next);
    scenario.then(() => reply({ type: 'ready' }), failed);
  };
  process.on('disconnect', () => process.exit(0));
  process.on('message', (command: FleetCommand) => {
    switch (command.type) {
      case 'start':
        start(command.config);
        return;
      case 'round':
        void (async () => (await scenario!).round(command))().then(reply, failed);
        return;
      case 'close':
        void (async () => {
          const closing = scenario;
          scenario = undefined;
          await (await closing?.catch(() => undefined))?.close();
          reply({ type: 'closed' });
          if (config !== undefined) process.disconnect();
        })();
    }
  });
  // A worker a test kills exits without writing the compile cache (`NODE_COMPILE_CACHE`): written now,
  // so that the next workers do not compile (and type-strip) these files again.
  flushCompileCache();
  if (config === undefined) reply({ type: 'idle' });
  else start(config);
}

if (import.meta.main) {
  const config = process.argv[2];
  serve(config === undefined ? undefined : JSON.parse(config) as FleetWorkerConfig);
}
