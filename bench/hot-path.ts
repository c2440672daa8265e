/**
 * The hot path: `await tokens.getAccessToken(key)` (and with `{ signal }`, with `{ resource }` for
 * a resource-scoped token (RFC 8707), and over 10,000 keys round-robin) on a valid cached token, against the honest floor (a function returning an
 * already-resolved promise held in a `Map`, after a `Date.now()` compare) and against what a user
 * would write otherwise.
 * @module
 */
import Keyv from 'keyv';
import { OAuth2Client } from 'google-auth-library';
import type { TokenManager } from 'offline-tokens';
import { randomUUID } from 'node:crypto';
import { encodeGrant } from '../src/grant/record.ts';
import { consentGrant, createManager, startIdp, syntheticGrant, type AuthorizationServer } from './fixtures.ts';
import { measureInterleaved, median, roundRatios, spread, type Candidate, type Measurement } from './measure.ts';
import { verdict, type Row, type Section, type SectionContext } from './section.ts';

const KEY = 'user-42';
/** A grant consented for a resource, whose resource-scoped token is cached. */
const RESOURCE_KEY = 'user-43';
const RESOURCE = 'https://api.example/orders';
const FAR_FUTURE_MS = 10 * 365 * 86_400_000;
/** Target: the SDK's cached path costs at most this many times the floor. */
const TARGET_X_FLOOR = 1.1;
/** Target for MANY_KEYS distinct keys round-robin, against the floor over as many keys. */
const TARGET_MANY_X_FLOOR = 1.3;
const MANY_KEYS = 10_000;

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
    const store = new Keyv();
    const tokens = await createManager(idp, { store });
    cleanups.unshift(() => tokens.close());
    await consentGrant(tokens, idp, KEY);
    const accessToken = await tokens.getAccessToken(KEY);
    const consent = await tokens.startAuthorization({ key: RESOURCE_KEY, resource: RESOURCE });
    await tokens.completeAuthorization(await idp.consent(consent.url), { state: consent.state });
    const resourceOptions = { resource: RESOURCE };
    const resourceToken = await tokens.getAccessToken(RESOURCE_KEY, resourceOptions);

    // 1. The floor: what any cache must do at least — a Map lookup, a clock compare, and handing
    // back a promise it already holds (the SDK returns a held resolved promise too).
    const map = new Map<string, { token: Promise<string>; expiresAt: number }>([[KEY, { token: Promise.resolve(accessToken), expiresAt: Date.now() + FAR_FUTURE_MS }]]);
    function floor(key: string): Promise<string> {
      const entry = map.get(key);
      if (entry !== undefined && Date.now() < entry.expiresAt) return entry.token;
      return Promise.reject(new Error(`No valid token for ${key}`));
    }
    // The same for many keys, round-robin (a Map of MANY_KEYS entries: the memory reference).
    // A manager of its own with the default cache bound (10,000): exactly MANY_KEYS grants, all cached.
    const manyStore = new Keyv();
    const manyTokens = await createManager(idp, { store: manyStore });
    cleanups.unshift(() => manyTokens.close());
    const manyKeys = await fillManyGrants(manyStore, manyTokens, idp);
    const manyMap = new Map(manyKeys.map((key) => [key, { token: Promise.resolve(key), expiresAt: Date.now() + FAR_FUTURE_MS }]));
    function floorMany(key: string): Promise<string> {
      const entry = manyMap.get(key);
      if (entry !== undefined && Date.now() < entry.expiresAt) return entry.token;
      return Promise.reject(new Error(`No valid token for ${key}`));
    }
    const signal = new AbortController().signal;
    const candidates: Candidate[] = [
      {
        name: 'floor: Map.get + Date.now compare, returns a held resolved promise',
        async run(iterations) {
          for (let i = 0; i < iterations; i++) await floor(KEY);
        },
      },
      // 2. The SDK, default in-memory Keyv store.
      {
        name: 'offline-tokens getAccessToken(key), in-memory Keyv store',
        async run(iterations) {
          for (let i = 0; i < iterations; i++) await tokens.getAccessToken(KEY);
        },
      },
      {
        name: 'offline-tokens getAccessToken(key, { signal }), signal not aborted',
        async run(iterations) {
          for (let i = 0; i < iterations; i++) await tokens.getAccessToken(KEY, { signal });
        },
      },
      {
        name: `floor, ${MANY_KEYS.toLocaleString('en-US')} distinct keys round-robin`,
        async run(iterations) {
          for (let i = 0, k = 0; i < iterations; i++, k = k + 1 === MANY_KEYS ? 0 : k + 1) await floorMany(manyKeys[k]!);
        },
      },
      {
        name: `offline-tokens getAccessToken, ${MANY_KEYS.toLocaleString('en-US')} distinct keys round-robin`,
        async run(iterations) {
          for (let i = 0, k = 0; i < iterations; i++, k = k + 1 === MANY_KEYS ? 0 : k + 1) await manyTokens.getAccessToken(manyKeys[k]!);
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

    // 5. getToken: the token with its metadata, same hot path (last, so the indices above stay).
    candidates.push({
      name: 'offline-tokens getToken(key), in-memory Keyv store',
      async run(iterations) {
        for (let i = 0; i < iterations; i++) await tokens.getToken(KEY);
      },
    });

    // 6. A cached resource-scoped token (RFC 8707): its own cache, the same synchronous hit (last).
    candidates.push({
      name: 'offline-tokens getAccessToken(key, { resource }), cached resource token',
      async run(iterations) {
        for (let i = 0; i < iterations; i++) await tokens.getAccessToken(RESOURCE_KEY, resourceOptions);
      },
    });

    // Every candidate answers a token before anything is timed, so no error path is measured.
    const answers: Array<[string, unknown, string]> = [
      ['floor', await floor(KEY), accessToken],
      ['getAccessToken', await tokens.getAccessToken(KEY), accessToken],
      ['getAccessToken with signal', await tokens.getAccessToken(KEY, { signal }), accessToken],
      ['google-auth-library', (await google.getAccessToken()).token, accessToken],
      ['keyv.get', await keyv.get<string>(KEY), accessToken],
      ['getToken', (await tokens.getToken(KEY)).accessToken, accessToken],
      ['getAccessToken with resource', await tokens.getAccessToken(RESOURCE_KEY, resourceOptions), resourceToken],
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

    const resourceM = measured.at(-1)!;
    const getTokenM = measured.at(-2)!;
    const [floorM, sdkM, signalM, floorManyM, manyM, ...rest] = measured.slice(0, -2) as [Measurement, Measurement, Measurement, Measurement, Measurement, ...Measurement[]];
    const redisM = redisTokens === undefined ? undefined : rest.shift();
    const [googleM, keyvM] = rest as [Measurement, Measurement];
    const rows: Row[] = [
      xFloorRow(floorM, floorM),
      targetRow(sdkM, floorM, TARGET_X_FLOOR),
      targetRow(signalM, floorM, TARGET_X_FLOOR),
      xFloorRow(floorManyM, floorManyM),
      targetRow(manyM, floorManyM, TARGET_MANY_X_FLOOR),
    ];
    if (redisM !== undefined) rows.push(targetRow(redisM, floorM, TARGET_X_FLOOR));
    rows.push(targetRow(getTokenM, floorM, TARGET_X_FLOOR));
    rows.push(targetRow(resourceM, floorM, TARGET_X_FLOOR));
    rows.push(xFloorRow(googleM, floorM), xFloorRow(keyvM, floorM));
    const versusGoogle = sdkM.medianNs / googleM.medianNs;
    rows.push({
      case: 'getAccessToken ÷ google-auth-library (median ns/op)',
      value: versusGoogle,
      unit: 'ratio',
      target: '< 1.00',
      verdict: verdict(versusGoogle < 1),
      detail: `per-round p10–p90 ${spread(roundRatios(sdkM, googleM), 2)}`,
    });
    return rows;
  } finally {
    for (const cleanup of cleanups) await cleanup();
  }
}

/** A row with a target on the median of per-round ratios (each round times both candidates). */
function targetRow(candidate: Measurement, floorM: Measurement, target: number): Row {
  const ratio = median(roundRatios(candidate, floorM));
  return { ...xFloorRow(candidate, floorM), value: ratio, target: `≤ ${target.toFixed(2)}×`, verdict: verdict(ratio <= target) };
}

/**
 * Consents nothing: writes MANY_KEYS synthetic valid grants of the server's client into the
 * manager's store and reads each once, so all are cached (the cache holds 10,000 by default).
 */
async function fillManyGrants(store: Keyv, tokens: TokenManager, idp: AuthorizationServer): Promise<string[]> {
  const keys: string[] = [];
  const nowMs = Date.now();
  for (let i = 0; i < MANY_KEYS; i++) {
    const key = `user-${randomUUID()}`;
    await store.set(`grant:${key}`, encodeGrant(syntheticGrant(key, idp, nowMs)));
    keys.push(key);
  }
  for (const key of keys) await tokens.getAccessToken(key);
  return keys;
}

function xFloorRow(candidate: Measurement, floorM: Measurement): Row {
  return {
    case: candidate.name,
    value: candidate.medianNs / floorM.medianNs,
    unit: 'x floor',
    detail: `median ${candidate.medianNs.toFixed(1)} ns/op; per-round ratio p10–p90 ${spread(roundRatios(candidate, floorM), 2)}`,
  };
}

