/**
 * Compare-and-set on one stored record, the capability a backend offers when it can do it atomically
 * (a Redis Lua script, one PostgreSQL statement, one SQLite statement). {@link GrantStore} uses it
 * for fenced writes (`find-cas.ts` finds it); any other Keyv store gets the generic read-then-write under the lock lease.
 * @module
 */
import type Keyv from 'keyv';

import type { CompareAndSetResult } from '../util/compare-and-set.ts';

/** The outcome of a compare-and-set: written, or not, with the raw value the store holds (`undefined`: none). */
export type CasResult = CompareAndSetResult;

/**
 * Atomic compare-and-set on the raw values a Keyv adapter stores (Keyv's serialized `{ value }`).
 * Keys are the keys the adapter receives from Keyv (Keyv's namespace prefix included).
 */
export interface RecordCas {
  /** Writes `next` at `key` only if the stored raw value is exactly `expected`; otherwise returns what is stored. */
  compareAndSet(key: string, expected: string, next: string): Promise<CasResult>;
}

/**
 * The key the Keyv adapter receives for `key` (Keyv 5 prefixes its namespace unless told not to).
 * @internal
 */
export function adapterKey(keyv: Keyv, key: string): string {
  const namespace = keyv.namespace;
  if (!keyv.useKeyPrefix || namespace === undefined || namespace === '' || key.startsWith(`${namespace}:`)) return key;
  return `${namespace}:${key}`;
}
