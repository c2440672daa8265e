/**
 * An uncontended cache miss: `getAccessToken(key)` of a stored, valid grant that is not in the
 * manager's cache (a manager with `maxCachedGrants: 1`, keys round-robin, so every call reads the
 * store), against a raw `decodeGrant(await keyv.get(key))` of the same records on the same in-memory
 * Keyv, interleaved. The in-memory store makes the store's own cost smallest: the SDK's overhead
 * shows most here.
 * @module
 */
import { randomUUID } from 'node:crypto';
import Keyv from 'keyv';
import { decodeGrant, encodeGrant } from '../src/grant/record.ts';
import { createManager, startIdp, syntheticGrant } from './fixtures.ts';
import { measureInterleaved, median, roundRatios, spread, type Candidate } from './measure.ts';
import { verdict, type Row, type Section, type SectionContext } from './section.ts';

const KEYS = 64;
const TARGET_X_RAW = 1.5;

/** The cache-miss section. */
export const cacheMiss: Section = {
  id: 'cache-miss',
  title: 'Cache miss (stored valid grant, not cached)',
  run: runCacheMiss,
};

async function runCacheMiss(context: SectionContext): Promise<Row[]> {
  const idp = await startIdp();
  const store = new Keyv();
  const tokens = await createManager(idp, { store, maxCachedGrants: 1 });
  try {
    const keys: string[] = [];
    for (let i = 0; i < KEYS; i++) {
      const key = `miss-${randomUUID()}`;
      await store.set(`grant:${key}`, encodeGrant(syntheticGrant(key, idp, Date.now())));
      keys.push(key);
    }
    idp.resetCounters();
    const candidates: Candidate[] = [
      {
        name: 'raw: decodeGrant(await keyv.get(key)), in-memory Keyv',
        async run(iterations) {
          for (let i = 0, k = 0; i < iterations; i++, k = k + 1 === KEYS ? 0 : k + 1) decodeGrant(await store.get(`grant:${keys[k]!}`));
        },
      },
      {
        name: 'offline-tokens getAccessToken(key), not cached',
        async run(iterations) {
          for (let i = 0, k = 0; i < iterations; i++, k = k + 1 === KEYS ? 0 : k + 1) await tokens.getAccessToken(keys[k]!);
        },
      },
    ];
    const iterations = Math.max(1_000, Math.floor(context.iterations / 10));
    const [raw, sdk] = await measureInterleaved(candidates, { rounds: context.rounds, iterations, warmupIterations: iterations });
    if (idp.counters.refreshRequests !== 0) throw new Error('cache miss: a refresh reached the server');
    const ratios = roundRatios(sdk!, raw!);
    const ratio = median(ratios);
    return [
      { case: raw!.name, value: raw!.medianNs, unit: 'ns', detail: `${context.rounds} interleaved rounds × ${iterations.toLocaleString('en-US')} calls` },
      {
        case: `${sdk!.name} ÷ raw read + decode`,
        value: ratio,
        unit: 'ratio',
        target: `≤ ${TARGET_X_RAW.toFixed(2)}`,
        verdict: verdict(ratio <= TARGET_X_RAW),
        detail: `median of per-round ratios, p10–p90 ${spread(ratios, 2)}; SDK ${sdk!.medianNs.toFixed(0)} ns, raw ${raw!.medianNs.toFixed(0)} ns per call`,
      },
    ];
  } finally {
    await tokens.close();
    await idp.close();
  }
}
