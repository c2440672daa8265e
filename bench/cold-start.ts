/**
 * Cold start: a new process that needs the access token of a stored, valid grant. Each sample is a
 * fresh `node` process (`bench/cold-start-child.mjs`) that creates a token manager on the store and
 * calls `getAccessToken(key)`, against a fresh process that opens the same Keyv store, reads the record
 * and decodes it (the "raw Keyv read"); both report the milliseconds from their process start to
 * holding the token. SQLite (the SDK's default file store) and Redis (started here). The issuer is a
 * plain HTTP server that counts every request it gets: a cold start with a valid token makes none.
 * The SDK is built first with the package's own build (`.ci/scripts/build.ts` into `.tmp/`: the bundled
 * entry points and chunks that `npm run build` puts in `dist/`), as an application loads it from the
 * package: type stripping of the sources is a development cost, not a cold start's. The raw read's
 * `SqliteStore` comes from a plain `tsc` build of the sources (`.tmp/`, one file per module).
 * Rounds interleave the candidates (order reversed every other round); the figure is the median of
 * the per-round ratios of medians.
 * @module
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Keyv from 'keyv';
import { createRedisStore } from 'offline-tokens/redis';
import type { Grant } from '../src/grant/grant.ts';
import { GrantStore } from '../src/storage/grant-store.ts';
import { makeGrant } from '../src/testing/fixtures.ts';
import { SqliteStore } from '../src/storage/sqlite.ts';
import { startRedis } from '../test/support/servers.ts';
import { median, spread } from './measure.ts';
import { verdict, type Row, type Section, type SectionContext } from './section.ts';

const run = promisify(execFile);
const CHILD = fileURLToPath(new URL('./cold-start-child.mjs', import.meta.url));
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(ROOT, '.tmp', 'bench-cold-start-dist');
const RAW_DIST = join(ROOT, '.tmp', 'bench-cold-start-tsc');
const CLIENT_ID = 'cold-start-client';
const KEY = 'cold-user';
const SAMPLES_PER_ROUND = 3;
const TARGET_X_RAW = 1.3;

/** The cold-start section. */
export const coldStart: Section = {
  id: 'cold-start',
  title: 'Cold start (new process, stored valid token)',
  run: runColdStart,
};

async function runColdStart(context: SectionContext): Promise<Row[]> {
  let requests = 0;
  const issuerServer = createServer((_req, res) => {
    requests++;
    res.writeHead(503).end();
  });
  await run(process.execPath, [join(ROOT, '.ci', 'scripts', 'build.ts'), '--out-dir', DIST, '--no-declarations'], { cwd: ROOT, timeout: 300_000 });
  await run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', RAW_DIST, '--declaration', 'false'], { cwd: ROOT, timeout: 300_000 });
  await new Promise<void>((resolve) => issuerServer.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(issuerServer.address() as AddressInfo).port}`;
  const dir = await mkdtemp(join(tmpdir(), 'offline-tokens-bench-cold-'));
  const redis = await startRedis();
  try {
    const sqlitePath = join(dir, 'tokens.sqlite');
    await storeGrant(new Keyv({ store: new SqliteStore({ path: sqlitePath }) }), issuer);
    await storeGrant(createRedisStore({ url: redis.url }), issuer);
    const rows: Row[] = [];
    for (const [name, target] of [['SQLite', sqlitePath], ['Redis', redis.url]] as const) {
      const backend = name === 'SQLite' ? 'sqlite' : 'redis';
      const cpu = { sdk: [] as number[], raw: [] as number[] };
      const sample = async (mode: 'sdk' | 'raw'): Promise<number> => {
        const { stdout } = await run(process.execPath, [CHILD, mode, backend, target, issuer, KEY, DIST, RAW_DIST], { timeout: 60_000 });
        const { elapsedMs, cpuMs } = JSON.parse(stdout) as { elapsedMs: number; cpuMs: number };
        cpu[mode].push(cpuMs);
        return elapsedMs;
      };
      // One untimed pair: the OS file cache and the compile cache are warm for both candidates alike.
      await sample('raw');
      await sample('sdk');
      requests = 0;
      cpu.sdk.length = 0;
      cpu.raw.length = 0;
      const sdkMs: number[] = [];
      const rawMs: number[] = [];
      const ratios: number[] = [];
      for (let round = 0; round < context.rounds; round++) {
        const sdkRound: number[] = [];
        const rawRound: number[] = [];
        for (let i = 0; i < SAMPLES_PER_ROUND; i++) {
          if ((round + i) % 2 === 0) {
            sdkRound.push(await sample('sdk'));
            rawRound.push(await sample('raw'));
          } else {
            rawRound.push(await sample('raw'));
            sdkRound.push(await sample('sdk'));
          }
        }
        sdkMs.push(...sdkRound);
        rawMs.push(...rawRound);
        ratios.push(median(sdkRound) / median(rawRound));
      }
      const ratio = median(ratios);
      const seen = requests;
      rows.push(
        {
          case: `${name}: new process to getAccessToken(key) ÷ raw Keyv read + decode`,
          value: ratio,
          unit: 'ratio',
          target: `≤ ${TARGET_X_RAW.toFixed(2)}`,
          verdict: verdict(ratio <= TARGET_X_RAW),
          detail: `median of per-round ratios, p10–p90 ${spread(ratios, 2)}; SDK ${median(sdkMs).toFixed(1)} ms (p10–p90 ${spread(sdkMs, 1)}), raw ${median(rawMs).toFixed(1)} ms (p10–p90 ${spread(rawMs, 1)}) from process start; CPU time by then: SDK ${median(cpu.sdk).toFixed(1)} ms, raw ${median(cpu.raw).toFixed(1)} ms (${(median(cpu.sdk) / median(cpu.raw)).toFixed(2)}×); ${context.rounds} rounds × ${SAMPLES_PER_ROUND} processes each`,
        },
        { case: `${name}: requests at the authorization server during the cold starts`, value: seen, unit: 'count', target: '= 0', verdict: verdict(seen === 0) },
      );
    }
    context.note("cold-start: the SDK runs the package's build (bundled entry points and chunks, as from the package), the raw read the SDK's SqliteStore built by tsc; each sample is a new `node` process, timed from its start");
    return rows;
  } finally {
    await redis.stop();
    await new Promise((resolve) => issuerServer.close(resolve));
    await rm(dir, { recursive: true, force: true });
    await rm(DIST, { recursive: true, force: true });
    await rm(RAW_DIST, { recursive: true, force: true });
  }
}

/** Writes a valid grant of the cold-start client under the v0.1 key layout (`grant:<key>`). */
async function storeGrant(keyv: Keyv, issuer: string): Promise<void> {
  const grant: Grant = {
    ...makeGrant(KEY),
    issuer,
    clientId: CLIENT_ID,
    subject: 'cold-start-user',
    refreshToken: randomBytes(32).toString('base64url'),
    accessToken: randomBytes(32).toString('base64url'),
  };
  await new GrantStore(keyv, { operationTimeoutMs: 5_000, namespace: '' }).setGrant(grant);
  await keyv.disconnect();
}
