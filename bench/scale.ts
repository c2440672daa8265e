/**
 * Scale: 100,000 grants in one manager. Measured in this run:
 * - heap per cached grant (`process.memoryUsage().heapUsed` after forced GC, before and after the
 *   manager cached every grant), minus the heap the grant's own token and key strings take (measured
 *   on fresh copies of strings of the same lengths);
 * - time to load them: 100,000 first `getAccessToken` calls, each reading its grant from the store,
 *   against a raw `await keyv.get()` + `JSON.parse` of the same records;
 * - keep-alive scheduling: `await startKeepAlive().ready` (store scan + one heap insert per grant)
 *   against a raw scan of the same store, and the priority queue's cost per operation and its
 *   comparisons per operation at n = 1,000, 10,000 and 100,000, divided by log2(n).
 * @module
 */
import { randomBytes, randomUUID } from 'node:crypto';
import Keyv from 'keyv';
import type { TokenManager } from 'offline-tokens';
import type { Grant } from '../src/grant/grant.ts';
import { PriorityQueue } from '../src/scheduling/priority-queue.ts';
import { decodeGrant, encodeGrant } from '../src/grant/record.ts';
import { CountingMap } from './counting-map.ts';
import { createManager, startIdp, type AuthorizationServer } from './fixtures.ts';
import { collectGarbage, forcedGc, heapUsedAfterGc } from './gc.ts';
import { median, spread } from './measure.ts';
import { verdict, type Row, type Section, type SectionContext } from './section.ts';

const GRANTS = 100_000;
/** Rounds of the 100,000-grant measurements, each on a new manager. */
const ROUNDS = 3;
/** Keep-alive scans per round, alternating with raw scans. */
const SCANS_PER_ROUND = 3;
const QUEUE_SIZES = [1_000, 10_000, 100_000] as const;
/** Priority queue operations timed per size per round (a smaller queue is rebuilt and repeated). */
const QUEUE_OPS_PER_SAMPLE = 100_000;
const QUEUE_ROUNDS = 5;
const DAY_MS = 86_400_000;
const TOKEN_LENGTH = 43;
const SCOPE = 'openid offline_access email profile';
/** Target: heap per cached grant beyond its token and key strings. */
const TARGET_BYTES_PER_GRANT = 1024;
/**
 * Target for O(log n): comparisons per operation ÷ log2 n at n = 100,000 at most this many times
 * that at n = 1,000 (a linear scan would be ~60×).
 */
const TARGET_LOG_GROWTH = 1.25;

/** The scale section. */
export const scale: Section = {
  id: 'scale',
  title: `Scale (${GRANTS.toLocaleString('en-US')} grants)`,
  run: runScale,
};

/** One round of the 100,000-grant measurements. */
interface RoundResult {
  heapPerGrantBytes: number;
  loadMs: number;
  rawLoadMs: number;
  /** Store reads of a second pass over all keys (0 when every grant stayed cached). */
  secondPassReads: number;
  keepAliveReadyMs: number[];
  rawScanMs: number[];
  /** ms to `track()` every grant on a running keep-alive (no scan). */
  trackMs: number[];
}

async function runScale(context: SectionContext): Promise<Row[]> {
  if (forcedGc() === undefined) context.note('scale: no forced GC available; heap figures include garbage.');
  const idp = await startIdp();
  const counting = new CountingMap();
  const store = new Keyv({ store: counting });
  // Every manager is created (discovery) up front: a round blocks the event loop for seconds, after
  // which a pooled keep-alive connection to the in-process server may be reset under a new request.
  const managers = await Promise.all(Array.from({ length: ROUNDS }, () => createManager(idp, { store, maxCachedGrants: GRANTS })));
  // A manager with an empty store: its keep-alive is fed the grants by `track()`, without a scan.
  const scheduler = await createManager(idp, { store: new Keyv() });
  try {
    const keys = await fillStore(store, idp, Date.now());
    const stringBytes = measureStringBytes(keys);

    const rounds: RoundResult[] = [];
    for (const tokens of managers) {
      rounds.push(await measureRound(tokens, scheduler, store, counting, keys));
      await tokens.close();
    }
    const queue = measureQueue();
    return [...grantRows(rounds, stringBytes, keys[0]!.length), ...queueRows(queue)];
  } finally {
    await Promise.all([...managers, scheduler].map((tokens) => tokens.close()));
    await idp.close();
  }
}

function grantRows(rounds: RoundResult[], stringBytes: number, keyLength: number): Row[] {
  const heapPerGrant = median(rounds.map((r) => r.heapPerGrantBytes));
  const beyondStrings = heapPerGrant - stringBytes;
  const loadMs = median(rounds.map((r) => r.loadMs));
  const rawLoadMs = median(rounds.map((r) => r.rawLoadMs));
  const readyMs = rounds.flatMap((r) => r.keepAliveReadyMs);
  const rawScanMs = rounds.flatMap((r) => r.rawScanMs);
  const scanDiffNs = readyMs.map((ms, i) => ((ms - rawScanMs[i]!) / GRANTS) * 1e6);
  const trackMs = rounds.flatMap((r) => r.trackMs);
  const secondPassReads = Math.max(...rounds.map((r) => r.secondPassReads));
  const perRound = (pick: (r: RoundResult) => number, digits: number): string => rounds.map((r) => pick(r).toFixed(digits)).join(', ');
  const sampling = `median of ${ROUNDS} rounds, each on a new manager`;
  const scans = `${readyMs.length} scans (${SCANS_PER_ROUND} per round, alternating with a raw scan)`;
  return [
    {
      case: 'heap per cached grant beyond its token and key strings',
      value: beyondStrings,
      unit: 'bytes',
      target: `≤ ${TARGET_BYTES_PER_GRANT.toLocaleString('en-US')} B`,
      verdict: verdict(beyondStrings <= TARGET_BYTES_PER_GRANT),
      detail: `heapUsed after forced GC, before and after ${GRANTS.toLocaleString('en-US')} grants were cached: ${heapPerGrant.toFixed(0)} B per grant (rounds ${perRound((r) => r.heapPerGrantBytes, 0)}), minus ${stringBytes.toFixed(0)} B measured for 2 × ${TOKEN_LENGTH}-char tokens + a ${keyLength}-char key (their characters alone: ${2 * TOKEN_LENGTH + keyLength} B); ${sampling}`,
    },
    {
      case: `time to load ${GRANTS.toLocaleString('en-US')} grants (first getAccessToken per key, one store read each)`,
      value: loadMs,
      unit: 'ms',
      detail: `${((loadMs / GRANTS) * 1e3).toFixed(1)} µs per grant; rounds ${perRound((r) => r.loadMs, 0)} ms; awaited one after the other, in-memory Keyv; ${sampling}`,
    },
    {
      case: 'load ÷ raw await keyv.get() + JSON.parse of the same records',
      value: loadMs / rawLoadMs,
      unit: 'ratio',
      detail: `raw ${rawLoadMs.toFixed(0)} ms (${((rawLoadMs / GRANTS) * 1e3).toFixed(1)} µs per grant); per round ${rounds.map((r) => (r.loadMs / r.rawLoadMs).toFixed(2)).join(', ')}`,
    },
    {
      case: 'store reads on a second pass over all keys (all still cached)',
      value: secondPassReads,
      unit: 'count',
      target: '= 0',
      verdict: verdict(secondPassReads === 0),
      detail: `maxCachedGrants ${GRANTS.toLocaleString('en-US')}; counted by a counting Keyv Map store; worst round`,
    },
    {
      case: `keep-alive: await startKeepAlive().ready over ${GRANTS.toLocaleString('en-US')} stored grants, per grant`,
      value: (median(readyMs) / GRANTS) * 1e6,
      unit: 'ns',
      detail: `${median(readyMs).toFixed(0)} ms in all, p10–p90 ${spread(readyMs, 0)} ms over ${scans}; all ${GRANTS.toLocaleString('en-US')} scheduled; raw scan of the same store (keyv.iterator + decodeGrant) ${((median(rawScanMs) / GRANTS) * 1e6).toFixed(0)} ns per grant`,
    },
    {
      case: `keep-alive scheduling per grant: track() of ${GRANTS.toLocaleString('en-US')} grants on a running keep-alive`,
      value: (median(trackMs) / GRANTS) * 1e6,
      unit: 'ns',
      detail: `heap insert + timer re-arm, no store; ${median(trackMs).toFixed(0)} ms for all, p10–p90 ${spread(trackMs, 0)} ms over ${trackMs.length} passes; ready − raw scan per grant (scan overhead included): median ${median(scanDiffNs).toFixed(0)} ns, p10–p90 ${spread(scanDiffNs, 0)} ns`,
    },
  ];
}

function queueRows(queue: Map<number, QueueResult>): Row[] {
  const rows: Row[] = [];
  for (const size of QUEUE_SIZES) {
    const result = queue.get(size)!;
    const log2 = Math.log2(size);
    rows.push({
      case: `PriorityQueue at n = ${size.toLocaleString('en-US')}: earliest item rescheduled to the back, or popped; per op`,
      value: result.nsPerOp,
      unit: 'ns',
      detail: `÷ log2 n = ${(result.nsPerOp / log2).toFixed(1)} ns; reschedule ${result.upsertNs.toFixed(0)} ns, pop ${result.popNs.toFixed(0)} ns; ${result.comparisonsPerOp.toFixed(1)} comparisons per op (÷ log2 n = ${(result.comparisonsPerOp / log2).toFixed(2)}); a random Map.get among n keys here: ${result.mapGetNs.toFixed(0)} ns; median of ${QUEUE_ROUNDS} interleaved rounds × ${QUEUE_OPS_PER_SAMPLE.toLocaleString('en-US')} ops, p10–p90 ${result.spread}`,
    });
  }
  const small = queue.get(QUEUE_SIZES[0])!;
  const large = queue.get(QUEUE_SIZES[2])!;
  const logGrowth = Math.log2(large.size) / Math.log2(small.size);
  const comparisonGrowth = (large.comparisonsPerOp / Math.log2(large.size)) / (small.comparisonsPerOp / Math.log2(small.size));
  const timeGrowth = (large.nsPerOp / Math.log2(large.size)) / (small.nsPerOp / Math.log2(small.size));
  rows.push({
    case: `PriorityQueue comparisons per op ÷ log2 n, at n = ${large.size.toLocaleString('en-US')} ÷ at n = ${small.size.toLocaleString('en-US')}`,
    value: comparisonGrowth,
    unit: 'ratio',
    target: `≤ ${TARGET_LOG_GROWTH.toFixed(2)} (O(log n))`,
    verdict: verdict(comparisonGrowth <= TARGET_LOG_GROWTH),
    detail: `1.00 is exactly log n, a linear scan would be ~${(large.size / small.size / logGrowth).toFixed(0)}; comparisons per op ${small.comparisonsPerOp.toFixed(1)} → ${large.comparisonsPerOp.toFixed(1)} for log2 n ${Math.log2(small.size).toFixed(1)} → ${Math.log2(large.size).toFixed(1)}`,
  });
  rows.push({
    case: `PriorityQueue ns per op ÷ log2 n, at n = ${large.size.toLocaleString('en-US')} ÷ at n = ${small.size.toLocaleString('en-US')}`,
    value: timeGrowth,
    unit: 'ratio',
    detail: `ns/op ×${(large.nsPerOp / small.nsPerOp).toFixed(1)} for log2 n ×${logGrowth.toFixed(2)} and n ×${(large.size / small.size).toFixed(0)}; the rest is memory: a random Map.get costs ×${(large.mapGetNs / small.mapGetNs).toFixed(1)} between the same sizes (cache misses of a larger heap)`,
  });
  return rows;
}

/** A 43-character random token, like an opaque token of 32 random bytes. */
function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

/** A flat copy of a string (a template literal makes a cons string; JSON.parse makes a flat one, as the store's decode does). */
function flatCopy(text: string): string {
  return JSON.parse(JSON.stringify(text)) as string;
}

/** Writes GRANTS synthetic grants through Keyv, as the SDK stores them; returns their keys. */
async function fillStore(store: Keyv, idp: AuthorizationServer, nowMs: number): Promise<string[]> {
  const keys: string[] = [];
  for (let i = 0; i < GRANTS; i++) {
    const key = flatCopy(`user-${randomUUID()}`);
    const grant: Grant = {
      key,
      issuer: idp.issuer,
      clientId: idp.clients.post.clientId,
      subject: randomUUID(),
      scope: SCOPE,
      refreshToken: randomToken(),
      accessToken: randomToken(),
      expiresAt: nowMs + 3_600_000,
      issuedAt: nowMs,
      // 4–14 days left: keep-alive due times are spread out and no grant is near its reauth warning.
      refreshExpiresAt: nowMs + 4 * DAY_MS + Math.floor(Math.random() * 10 * DAY_MS),
      createdAt: nowMs - Math.floor(Math.random() * 90 * DAY_MS),
      rotations: Math.floor(Math.random() * 500),
      status: 'active',
      reauthReason: undefined,
      refreshStartedAt: undefined,
    };
    await store.set(`grant:${key}`, encodeGrant(grant));
    keys.push(key);
  }
  return keys;
}

/**
 * Heap per grant of fresh, flat strings like its two tokens and its key, measured: the array slots
 * holding them exist before the first reading, so only the strings are counted.
 */
function measureStringBytes(keys: readonly string[]): number {
  const holder: string[] = Array.from({ length: 3 * GRANTS }, () => '');
  const before = heapUsedAfterGc();
  for (let i = 0; i < GRANTS; i++) {
    holder[3 * i] = randomToken();
    holder[3 * i + 1] = randomToken();
    holder[3 * i + 2] = flatCopy(keys[i]!);
  }
  const after = heapUsedAfterGc();
  if (holder[3 * GRANTS - 1]!.length !== keys[GRANTS - 1]!.length) throw new Error('scale: string copies differ');
  return (after - before) / GRANTS;
}

async function measureRound(tokens: TokenManager, scheduler: TokenManager, store: Keyv, counting: CountingMap, keys: readonly string[]): Promise<RoundResult> {
  const rawLoadMs = await timeRawLoad(store, keys);

  const heapBefore = heapUsedAfterGc();
  const started = process.hrtime.bigint();
  await loadAll(tokens, keys);
  const loadMs = Number(process.hrtime.bigint() - started) / 1e6;
  const heapAfter = heapUsedAfterGc();

  counting.resetCounts();
  await loadAll(tokens, keys);
  const secondPassReads = counting.reads;

  const keepAliveReadyMs: number[] = [];
  const rawScanMs: number[] = [];
  for (let scan = 0; scan < SCANS_PER_ROUND; scan++) {
    collectGarbage();
    rawScanMs.push(await timeRawScan(store));
    collectGarbage();
    const scanStarted = process.hrtime.bigint();
    const keepAlive = tokens.startKeepAlive();
    await keepAlive.ready;
    keepAliveReadyMs.push(Number(process.hrtime.bigint() - scanStarted) / 1e6);
    const scheduled = keepAlive.size;
    tokens.stopKeepAlive();
    if (scheduled !== GRANTS) throw new Error(`scale: keep-alive scheduled ${scheduled} of ${GRANTS} grants`);
  }

  const grants: Grant[] = [];
  for await (const [, value] of store.iterator!(store.namespace) as AsyncIterable<[string, unknown]>) grants.push(decodeGrant(value));
  const trackMs: number[] = [];
  for (let pass = 0; pass < SCANS_PER_ROUND; pass++) {
    const keepAlive = scheduler.startKeepAlive();
    await keepAlive.ready;
    collectGarbage();
    const trackStarted = process.hrtime.bigint();
    for (const grant of grants) keepAlive.track(grant);
    trackMs.push(Number(process.hrtime.bigint() - trackStarted) / 1e6);
    const scheduled = keepAlive.size;
    scheduler.stopKeepAlive();
    if (scheduled !== GRANTS) throw new Error(`scale: keep-alive tracked ${scheduled} of ${GRANTS} grants`);
  }
  return { heapPerGrantBytes: (heapAfter - heapBefore) / GRANTS, loadMs, rawLoadMs, secondPassReads, keepAliveReadyMs, rawScanMs, trackMs };
}

async function loadAll(tokens: TokenManager, keys: readonly string[]): Promise<void> {
  for (const key of keys) {
    const token = await tokens.getAccessToken(key);
    if (token.length !== TOKEN_LENGTH) throw new Error('scale: getAccessToken returned an unexpected token');
  }
}

/** What a hand-written loader does at least: one Keyv read and one JSON.parse per grant. */
async function timeRawLoad(store: Keyv, keys: readonly string[]): Promise<number> {
  const started = process.hrtime.bigint();
  let read = 0;
  for (const key of keys) {
    const record = JSON.parse((await store.get<string>(`grant:${key}`))!) as Grant;
    if (record.accessToken.length === TOKEN_LENGTH) read++;
  }
  if (read !== keys.length) throw new Error('scale: raw load read an unexpected record');
  return Number(process.hrtime.bigint() - started) / 1e6;
}

/** A scan of the store without scheduling: Keyv's iterator and the SDK's decode of each record. */
async function timeRawScan(store: Keyv): Promise<number> {
  const started = process.hrtime.bigint();
  let seen = 0;
  for await (const [, value] of store.iterator!(store.namespace) as AsyncIterable<[string, unknown]>) {
    if (decodeGrant(value).status === 'active') seen++;
  }
  if (seen !== GRANTS) throw new Error(`scale: raw scan saw ${seen} of ${GRANTS} grants`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

interface QueueResult {
  size: number;
  nsPerOp: number;
  upsertNs: number;
  popNs: number;
  comparisonsPerOp: number;
  mapGetNs: number;
  spread: string;
}

interface QueueInput {
  size: number;
  ids: string[];
  dueAt: number[];
  /** Random indexes into `ids`, for the Map.get reference. */
  probes: number[];
}

/**
 * Per size: a queue of n random due times; timed, n reschedules of the earliest item behind all
 * others (it sinks from the root to a leaf, as a grant refreshed by use moves back by a refresh-token
 * lifetime), then n pops (the drain of due grants). Sizes are interleaved, in alternating order, over
 * QUEUE_ROUNDS rounds. Comparisons per op are counted once per size on an untimed queue.
 */
function measureQueue(): Map<number, QueueResult> {
  const inputs: QueueInput[] = QUEUE_SIZES.map((size) => ({
    size,
    ids: Array.from({ length: size }, (_, i) => `user-${i.toString(36).padStart(8, '0')}-${randomUUID()}`),
    dueAt: Array.from({ length: size }, () => Math.random() * 1e12),
    probes: Array.from({ length: size }, () => Math.floor(Math.random() * size)),
  }));
  const samples = new Map<number, Array<{ upsertNs: number; popNs: number; mapGetNs: number }>>(QUEUE_SIZES.map((size) => [size, []]));
  for (const input of inputs) timeQueue(input); // warm-up
  for (let round = 0; round < QUEUE_ROUNDS; round++) {
    const order = round % 2 === 0 ? inputs : [...inputs].reverse();
    for (const input of order) samples.get(input.size)!.push(timeQueue(input));
  }
  const results = new Map<number, QueueResult>();
  for (const input of inputs) {
    const list = samples.get(input.size)!;
    const perOp = list.map((s) => (s.upsertNs + s.popNs) / 2);
    results.set(input.size, {
      size: input.size,
      nsPerOp: median(perOp),
      upsertNs: median(list.map((s) => s.upsertNs)),
      popNs: median(list.map((s) => s.popNs)),
      comparisonsPerOp: countComparisons(input),
      mapGetNs: median(list.map((s) => s.mapGetNs)),
      spread: `${spread(perOp, 0)} ns`,
    });
  }
  return results;
}

/** ns per reschedule, per pop and per random Map.get, over at least QUEUE_OPS_PER_SAMPLE of each. */
function timeQueue(input: QueueInput): { upsertNs: number; popNs: number; mapGetNs: number } {
  const { size, ids, dueAt, probes } = input;
  const repeats = Math.ceil(QUEUE_OPS_PER_SAMPLE / size);
  let upsertNs = 0;
  let popNs = 0;
  let mapGetNs = 0;
  for (let repeat = 0; repeat < repeats; repeat++) {
    const queue = new PriorityQueue<number>();
    for (let i = 0; i < size; i++) queue.upsert(ids[i]!, dueAt[i]!, i);
    const upsertStart = process.hrtime.bigint();
    for (let i = 0; i < size; i++) queue.upsert(queue.peek()!.id, 2e12 + i, i);
    const popStart = process.hrtime.bigint();
    let popped = 0;
    while (queue.pop() !== undefined) popped++;
    const end = process.hrtime.bigint();
    if (popped !== size) throw new Error('scale: the queue lost items');
    upsertNs += Number(popStart - upsertStart);
    popNs += Number(end - popStart);
  }
  // Reference: the memory cost of one random lookup among n keys, as the queue's index does per move.
  const index = new Map(ids.map((id, i) => [id, i]));
  let sum = 0;
  const mapStart = process.hrtime.bigint();
  for (let repeat = 0; repeat < repeats; repeat++) {
    for (let i = 0; i < size; i++) sum += index.get(ids[probes[i]!]!)!;
  }
  mapGetNs = Number(process.hrtime.bigint() - mapStart);
  if (sum < 0) throw new Error('unreachable');
  const ops = repeats * size;
  return { upsertNs: upsertNs / ops, popNs: popNs / ops, mapGetNs: mapGetNs / ops };
}

/**
 * Comparisons per op of the same reschedules and pops, counted through due times that count their own
 * conversions to a number (each `<` or `<=` between two of them converts both).
 */
function countComparisons(input: QueueInput): number {
  const { size, ids, dueAt } = input;
  let conversions = 0;
  const counted = (at: number): number => ({ valueOf: () => (conversions++, at) }) as unknown as number;
  const queue = new PriorityQueue<number>();
  for (let i = 0; i < size; i++) queue.upsert(ids[i]!, counted(dueAt[i]!), i);
  conversions = 0;
  for (let i = 0; i < size; i++) queue.upsert(queue.peek()!.id, counted(2e12 + i), i);
  while (queue.pop() !== undefined);
  return conversions / 2 / (2 * size);
}
