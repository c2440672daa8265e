/**
 * Finds the compare-and-set a store's Keyv adapter offers: the SDK's SQLite store, `@keyv/redis`,
 * `@keyv/postgres`; none for any other adapter (fenced writes then read, then write).
 * @module
 */
import type Keyv from 'keyv';
import type { CasResult, RecordCas } from './cas.ts';
import { postgresRecordCas } from './postgres-cas.ts';
import { redisRecordCas } from './redis-cas.ts';

/** An adapter that implements {@link RecordCas} itself (the SDK's SQLite store). */
interface CasAdapter {
  compareAndSet(key: string, expected: string, next: string): Promise<CasResult>;
}

/**
 * The compare-and-set of the adapter under `keyv`, or `undefined` when the adapter has none (the
 * generic fallback: a fenced read-then-write). Recognised: the SDK's SQLite store, `@keyv/redis`
 * (node-redis client), `@keyv/postgres`. Keyv's own compression changes the stored value: no CAS then.
 *
 * @example
 * ```ts
 * const cas = findRecordCas(keyv); // undefined for a Map or an unknown adapter
 * ```
 */
export function findRecordCas(keyv: Keyv): RecordCas | undefined {
  if ((keyv.opts as { compression?: unknown }).compression !== undefined) return undefined;
  // Without Keyv's serialization the adapter holds objects, not comparable strings.
  if (typeof keyv.serialize !== 'function' || typeof keyv.deserialize !== 'function') return undefined;
  const store = keyv.store as unknown;
  if (typeof store !== 'object' || store === null) return undefined;
  const candidate = store as Partial<CasAdapter> & { opts?: { dialect?: unknown } };
  if (typeof candidate.compareAndSet === 'function') return candidate as CasAdapter;
  return redisRecordCas(store) ?? postgresRecordCas(store);
}

