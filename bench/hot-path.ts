/**
 * The hot path: `await tokens.getAccessToken(key)` on a valid cached token, against the floor (an
 * awaited async `Map.get` + `Date.now()` compare) and against what a user would write otherwise.
 * @module
 */
import Keyv from 'keyv';
import { OAuth2Client } from 'google-auth-library';
import type { TokenManager } from 'offline-tokens';
import { consentGrant, createManager, startIdp } from './fixtures.ts';
import { measureInterleaved, percentile, roundRatios, type Candidate, type Measurement } from './measure.ts';
import { verdict, type Row, type Section, type SectionContext } from './section.ts';

const KEY = 'user-42';
const FAR_FUTURE_MS = 10 * 365 * 86_400_000;
/** Target: the SDK's cached path costs at most this many times the floor. */
const TARGET_X_FLOOR = 1.1;

/** The hot-path section. */
export const hotPath: Section = {
  id: 'hot-path',
  title: 'Cached getAccessToken (valid token)',
  run: runHotPath,
};

async function runHotPath(context: SectionContext): Promise<Row[]> {
  const idp = await startIdp();
  const cleanups: Array<() => Promise<void>> = [() => idp.close()];
  try {
    const tokens = await createManager(idp);
    cleanups.unshift(() => tokens.close());
    await consentGrant(tokens, idp, KEY);
    const accessToken = await tokens.getAccessToken(KEY);

    // 1. The floor.
    const map = new Map<string, { token: string; expiresAt: number }>([[KEY, { token: accessToken, expiresAt: Date.now() + FAR_FUTURE_MS }]]);
    async function floor(key: string): Promise<string> {
      const entry = map.get(key);
      if (entry !== undefined && Date.now() < entry.expiresAt) return entry.token;
      throw new Error(`No valid token for ${key}`);
    }
    const candidates: Candidate[] = [
      {
        name: 'floor: awaited async Map.get + Date.now compare',
        async run(iterations) {
          for (let i = 0; i < iterations; i++) await floor(KEY);
        },
      },
      // 2. The SDK, default in-memory Keyv store.
      {
        name: 'offline-tokens getAccessToken, in-memory Keyv store',
        async run(iterations) {
          for (let i = 0; i < iterations; i++) await tokens.getAccessToken(KEY);
        },
      },
    ];

    // 2b. The SDK with a Redis store: the hot path must not touch the store.
    let redisTokens: TokenManager | undefined;
    const redisUrl = process.env.REDIS_URL;
    if (redisUrl === undefined || redisUrl === '') {
      context.note('getAccessToken with a @keyv/redis store: skipped, REDIS_URL is not set.');
    } else {
      const { default: KeyvRedis } = await import('@keyv/redis');
      const redisKeyv = new Keyv({ store: new KeyvRedis(redisUrl), namespace: `offline-tokens-bench-${process.pid}` });
      cleanups.unshift(async () => {
        await redisKeyv.clear();
        await redisKeyv.disconnect();
      });
      const managed = await createManager(idp, { store: redisKeyv });
      redisTokens = managed;
      cleanups.unshift(() => managed.close());
      await consentGrant(managed, idp, KEY);
      candidates.push({
        name: 'offline-tokens getAccessToken, @keyv/redis store',
        async run(iterations) {
          for (let i = 0; i < iterations; i++) await managed.getAccessToken(KEY);
        },
      });
    }

    // 3. google-auth-library with a valid access token: no network.
    const google = new OAuth2Client();
    google.setCredentials({ access_token: accessToken, expiry_date: Date.now() + FAR_FUTURE_MS });
    candidates.push({
      name: 'google-auth-library OAuth2Client.getAccessToken()',
      async run(iterations) {
        for (let i = 0; i < iterations; i++) await google.getAccessToken();
      },
    });

    // 4. A naive Keyv read per call, default Keyv memory store.
    const keyv = new Keyv();
    await keyv.set(KEY, accessToken);
    candidates.push({
      name: 'naive await keyv.get(key), default Keyv memory store',
      async run(iterations) {
        for (let i = 0; i < iterations; i++) await keyv.get(KEY);
      },
    });

    // 5. getToken: the token with its metadata, same hot path.
    candidates.push({
      name: 'offline-tokens getToken, in-memory Keyv store',
      async run(iterations) {
        for (let i = 0; i < iterations; i++) await tokens.getToken(KEY);
      },
    });

    // Every candidate answers a token before anything is timed, so no error path is measured.
    const answers: Array<[string, unknown, string]> = [
      ['floor', await floor(KEY), accessToken],
      ['getAccessToken', await tokens.getAccessToken(KEY), accessToken],
      ['google-auth-library', (await google.getAccessToken()).token, accessToken],
      ['keyv.get', await keyv.get<string>(KEY), accessToken],
      ['getToken', (await tokens.getToken(KEY)).accessToken, accessToken],
    ];
    if (redisTokens !== undefined) {
      const redisToken = await redisTokens.getAccessToken(KEY);
      answers.push(['getAccessToken (redis)', redisToken, redisToken.length > 0 ? redisToken : 'a token']);
    }
    for (const [name, answer, expected] of answers) {
      if (answer !== expected) throw new Error(`hot path: ${name} did not return the expected token`);
    }

    idp.resetCounters();
    const measured = await measureInterleaved(candidates, {
      rounds: context.rounds,
      iterations: context.iterations,
      warmupIterations: context.iterations,
    });
    const refreshes = idp.counters.refreshRequests;
    if (refreshes !== 0) context.note(`hot path: ${refreshes} refresh request(s) reached the server during the timing (expected 0).`);

    const getTokenM = measured.at(-1)!;
    const [floorM, sdkM, ...rest] = measured.slice(0, -1) as [Measurement, Measurement, ...Measurement[]];
    const redisM = redisTokens === undefined ? undefined : rest.shift();
    const [googleM, keyvM] = rest as [Measurement, Measurement];
    const rows: Row[] = [
      xFloorRow(floorM, floorM),
      { ...xFloorRow(sdkM, floorM), target: `≤ ${TARGET_X_FLOOR.toFixed(2)}×`, verdict: verdict(sdkM.medianNs / floorM.medianNs <= TARGET_X_FLOOR) },
    ];
    if (redisM !== undefined) {
      rows.push({ ...xFloorRow(redisM, floorM), target: `≤ ${TARGET_X_FLOOR.toFixed(2)}×`, verdict: verdict(redisM.medianNs / floorM.medianNs <= TARGET_X_FLOOR) });
    }
    rows.push({ ...xFloorRow(getTokenM, floorM), target: `≤ ${TARGET_X_FLOOR.toFixed(2)}×`, verdict: verdict(getTokenM.medianNs / floorM.medianNs <= TARGET_X_FLOOR) });
    rows.push(xFloorRow(googleM, floorM), xFloorRow(keyvM, floorM));
    const versusGoogle = sdkM.medianNs / googleM.medianNs;
    rows.push({
      case: 'getAccessToken ÷ google-auth-library (median ns/op)',
      value: versusGoogle,
      unit: 'ratio',
      target: '< 1.00',
      verdict: verdict(versusGoogle < 1),
      detail: `per-round ${spread(roundRatios(sdkM, googleM))}`,
    });
    return rows;
  } finally {
    for (const cleanup of cleanups) await cleanup();
  }
}

function xFloorRow(candidate: Measurement, floorM: Measurement): Row {
  return {
    case: candidate.name,
    value: candidate.medianNs / floorM.medianNs,
    unit: 'x floor',
    detail: `median ${candidate.medianNs.toFixed(1)} ns/op; per-round ratio ${spread(roundRatios(candidate, floorM))}`,
  };
}

/** p10–p90 of per-round ratios, e.g. `0.97–1.04`. */
function spread(ratios: number[]): string {
  return `p10–p90 ${percentile(ratios, 10).toFixed(2)}–${percentile(ratios, 90).toFixed(2)}`;
}
