/**
 * The SDK's overhead per refresh: CPU time (`process.cpuUsage()`, user + system) and wall time of a
 * `getAccessToken(key, { forceRefresh: true })` that rotates the grant against the test authorization
 * server, minus a raw openid-client `refreshTokenGrant` against the same server, made as many times,
 * rotating its own grant chain (obtained by a second consent). The same pair is also run against a
 * canned token endpoint (a `fetch` that answers at once, no HTTP, no server), which isolates the
 * SDK's own work. Counted: the store operations the SDK makes per refresh, through a counting
 * in-memory Keyv store.
 *
 * The server runs in this process, so both CPU figures of the server pair include its work; the
 * difference is the SDK's.
 * @module
 */
import { randomBytes } from 'node:crypto';
import Keyv from 'keyv';
import * as client from 'openid-client';
import { encodeGrant } from '../src/grant/record.ts';
import { CountingMap } from './counting-map.ts';
import { consentGrant, createManager, discoverRaw, issueRefreshToken, startIdp, syntheticGrant, type AuthorizationServer } from './fixtures.ts';
import { forcedGc } from './gc.ts';
import { median, spread } from './measure.ts';
import { verdict, type Row, type Section, type SectionContext } from './section.ts';

const SDK_KEY = 'overhead-sdk';
const RAW_KEY = 'overhead-raw';
const CANNED_KEY = 'overhead-canned';
/** Interleaved rounds; each round times REFRESHES_PER_ROUND refreshes of each candidate. */
const ROUNDS = 20;
const REFRESHES_PER_ROUND = 50;
/** Against the canned endpoint a refresh is ~10× cheaper: more per round for the same resolution. */
const CANNED_REFRESHES_PER_ROUND = 200;
/** Untimed refreshes per candidate before the first round (JIT, connection pool). */
const WARMUP_REFRESHES = 30;
/** Target: the SDK adds at most this much CPU per refresh. */
const TARGET_CPU_OVERHEAD_MS = 1;

/** The refresh-overhead section. */
export const refreshOverhead: Section = {
  id: 'refresh-overhead',
  title: 'SDK overhead per refresh',
  run: runRefreshOverhead,
};

/** Per-refresh figures of one timed run. */
interface Sample {
  cpuMs: number;
  wallMs: number;
}

interface Candidate {
  name: string;
  run(refreshes: number): Promise<void>;
}

type Fetch = (url: string, init: RequestInit) => Promise<Response>;

async function runRefreshOverhead(context: SectionContext): Promise<Row[]> {
  const gc = forcedGc();
  if (gc === undefined) context.note('refresh overhead: no forced GC between timed runs.');
  const idp = await startIdp();
  const counting = new CountingMap();
  const store = new Keyv({ store: counting });
  const tokens = await createManager(idp, { store });
  const config = await discoverRaw(idp);
  const tokenEndpoint = config.serverMetadata().token_endpoint!;
  const canned = cannedTokenEndpoint(tokenEndpoint);
  const cannedStore = new Keyv();
  const cannedTokens = await createManager(idp, { store: cannedStore, fetch: canned });
  try {
    // Two grants of the same client and user: one refreshed by the SDK, one by raw openid-client.
    await consentGrant(tokens, idp, SDK_KEY);
    let rawRefreshToken = (await issueRefreshToken(tokens, store, idp, RAW_KEY)).refreshToken;
    // The canned endpoint needs no real grant: a synthetic one in the store.
    await cannedStore.set(`grant:${CANNED_KEY}`, encodeGrant(syntheticGrant(CANNED_KEY, idp, Date.now())));
    const cannedConfig = await discoverRaw(idp);
    cannedConfig[client.customFetch] = canned as client.CustomFetch;
    let cannedRefreshToken = randomToken();

    const sdk: Candidate = {
      name: 'offline-tokens getAccessToken(key, { forceRefresh: true })',
      async run(refreshes) {
        for (let i = 0; i < refreshes; i++) await tokens.getAccessToken(SDK_KEY, { forceRefresh: true });
      },
    };
    const raw: Candidate = {
      name: 'raw openid-client refreshTokenGrant',
      async run(refreshes) {
        for (let i = 0; i < refreshes; i++) {
          const response = await client.refreshTokenGrant(config, rawRefreshToken);
          if (response.refresh_token === undefined) throw new Error('refresh overhead: the server did not rotate the refresh token');
          rawRefreshToken = response.refresh_token;
        }
      },
    };
    const sdkCanned: Candidate = {
      name: 'offline-tokens, canned token endpoint',
      async run(refreshes) {
        for (let i = 0; i < refreshes; i++) await cannedTokens.getAccessToken(CANNED_KEY, { forceRefresh: true });
      },
    };
    const rawCanned: Candidate = {
      name: 'raw openid-client, canned token endpoint',
      async run(refreshes) {
        for (let i = 0; i < refreshes; i++) cannedRefreshToken = (await client.refreshTokenGrant(cannedConfig, cannedRefreshToken)).refresh_token!;
      },
    };

    for (const candidate of [sdk, raw, sdkCanned, rawCanned]) await candidate.run(WARMUP_REFRESHES);

    idp.resetCounters();
    counting.resetCounts();
    const [sdkSamples, rawSamples] = await timeInterleaved([sdk, raw], REFRESHES_PER_ROUND, gc);
    // Only the SDK's grant is in the counting store's traffic: the raw chain never touches the store.
    const sdkRefreshes = ROUNDS * REFRESHES_PER_ROUND;
    const writesPerRefresh = counting.writes / sdkRefreshes;
    const readsPerRefresh = counting.reads / sdkRefreshes;
    const { refreshRequests, refreshSuccesses, reusedRefreshTokens } = idp.counters;
    if (refreshRequests !== 2 * sdkRefreshes || refreshSuccesses !== refreshRequests || reusedRefreshTokens !== 0) {
      throw new Error(`refresh overhead: the server saw ${refreshRequests} refresh requests (${refreshSuccesses} succeeded, ${reusedRefreshTokens} reused tokens), expected ${2 * sdkRefreshes} successes`);
    }
    const [sdkCannedSamples, rawCannedSamples] = await timeInterleaved([sdkCanned, rawCanned], CANNED_REFRESHES_PER_ROUND, gc);
    if (idp.counters.refreshRequests !== refreshRequests) throw new Error('refresh overhead: a canned refresh reached the server');

    const cpuDiffs = differences(sdkSamples, rawSamples, 'cpuMs');
    const wallDiffs = differences(sdkSamples, rawSamples, 'wallMs');
    const cannedCpuDiffs = differences(sdkCannedSamples, rawCannedSamples, 'cpuMs');
    const cpuOverheadMs = median(cpuDiffs);
    const wallOverheadMs = median(wallDiffs);
    const cannedCpuOverheadMs = median(cannedCpuDiffs);
    const rawCpuMs = median(rawSamples.map((sample) => sample.cpuMs));
    const rawWallMs = median(rawSamples.map((sample) => sample.wallMs));
    const sampling = `${ROUNDS} interleaved rounds × ${REFRESHES_PER_ROUND} refreshes, median of rounds`;
    const cannedSampling = `${ROUNDS} interleaved rounds × ${CANNED_REFRESHES_PER_ROUND} refreshes, median of rounds`;
    return [
      figureRow(`${sdk.name}: CPU per refresh (incl. the in-process server)`, sdkSamples, 'cpuMs', sampling),
      figureRow(`${raw.name}: CPU per refresh (incl. the in-process server)`, rawSamples, 'cpuMs', sampling),
      {
        case: 'SDK CPU overhead per refresh (SDK − raw, same round)',
        value: cpuOverheadMs,
        unit: 'ms',
        target: `≤ ${TARGET_CPU_OVERHEAD_MS} ms`,
        verdict: verdict(cpuOverheadMs <= TARGET_CPU_OVERHEAD_MS),
        detail: `median of per-round differences, p10–p90 ${spread(cpuDiffs, 3)} ms; ${percent(cpuOverheadMs, rawCpuMs)} of the raw refresh's CPU. The server runs in this process: its work is in both figures and cancels in the difference (the SDK's extra garbage is collected over the server's heap too)`,
      },
      figureRow(`${sdk.name}: wall time per refresh`, sdkSamples, 'wallMs', sampling),
      figureRow(`${raw.name}: wall time per refresh`, rawSamples, 'wallMs', sampling),
      {
        case: 'SDK wall-time overhead per refresh (SDK − raw, same round)',
        value: wallOverheadMs,
        unit: 'ms',
        detail: `median of per-round differences, p10–p90 ${spread(wallDiffs, 3)} ms; ${percent(wallOverheadMs, rawWallMs)} of the raw refresh's wall time (loopback, server in this process)`,
      },
      {
        case: 'SDK CPU overhead per refresh, canned token endpoint (no HTTP, no server)',
        value: cannedCpuOverheadMs,
        unit: 'ms',
        target: `≤ ${TARGET_CPU_OVERHEAD_MS} ms`,
        verdict: verdict(cannedCpuOverheadMs <= TARGET_CPU_OVERHEAD_MS),
        detail: `SDK ${median(sdkCannedSamples.map((s) => s.cpuMs)).toFixed(3)} ms − raw ${median(rawCannedSamples.map((s) => s.cpuMs)).toFixed(3)} ms per refresh, both with the same \`fetch\` answering a rotated token at once; median of per-round differences, p10–p90 ${spread(cannedCpuDiffs, 3)} ms; ${cannedSampling}`,
      },
      {
        case: 'offline-tokens: store writes per refresh',
        value: writesPerRefresh,
        unit: 'count',
        target: '= 2',
        verdict: verdict(writesPerRefresh === 2),
        detail: `in-flight marker + rotated grant, counted by a counting Keyv Map store over ${sdkRefreshes.toLocaleString('en-US')} refreshes; reads per refresh: ${readsPerRefresh.toFixed(2)}; the raw baseline makes none`,
      },
    ];
  } finally {
    await cannedTokens.close();
    await tokens.close();
    await idp.close();
  }
}


/** A `fetch` that answers the token endpoint at once with a rotated token pair; anything else goes to the network. */
function cannedTokenEndpoint(tokenEndpoint: string): Fetch {
  return async (url, init) => {
    if (url !== tokenEndpoint) return globalThis.fetch(url, init);
    const body = JSON.stringify({ access_token: randomToken(), refresh_token: randomToken(), token_type: 'Bearer', expires_in: 3600, scope: 'openid offline_access' });
    return new Response(body, { status: 200, headers: { 'content-type': 'application/json', 'cache-control': 'no-store' } });
  };
}

function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Times a pair of candidates in ROUNDS interleaved rounds (even rounds in order, odd rounds
 * reversed), each run preceded by a forced GC so no run collects another's garbage. Returns the
 * samples of each, in round order.
 */
async function timeInterleaved(pair: readonly [Candidate, Candidate], refreshes: number, gc: (() => void) | undefined): Promise<[Sample[], Sample[]]> {
  const samples: [Sample[], Sample[]] = [[], []];
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? pair : [pair[1], pair[0]];
    for (const candidate of order) {
      gc?.();
      const cpuStart = process.cpuUsage();
      const wallStart = process.hrtime.bigint();
      await candidate.run(refreshes);
      const wallNs = Number(process.hrtime.bigint() - wallStart);
      const cpu = process.cpuUsage(cpuStart);
      samples[candidate === pair[0] ? 0 : 1].push({ cpuMs: (cpu.user + cpu.system) / 1_000 / refreshes, wallMs: wallNs / 1e6 / refreshes });
    }
  }
  return samples;
}

function differences(a: Sample[], b: Sample[], field: keyof Sample): number[] {
  return a.map((sample, round) => sample[field] - b[round]![field]);
}

function figureRow(name: string, samples: Sample[], field: keyof Sample, sampling: string): Row {
  const values = samples.map((sample) => sample[field]);
  return { case: name, value: median(values), unit: 'ms', detail: `${sampling}; p10–p90 ${spread(values, 3)} ms` };
}


function percent(part: number, whole: number): string {
  return `${((part / whole) * 100).toFixed(1)}%`;
}
