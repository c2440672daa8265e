/**
 * The compare-and-set memory of a grant store: the raw record (Keyv level) last read or written per
 * grant key and the grant it holds, which a fenced write compares against in one round trip.
 * @module
 */

/** Raw records remembered for compare-and-set (the last read or written per key), at most this many. */
const MAX_REMEMBERED = 1_024;

import type { Grant } from '../grant/grant.ts';

/** A record remembered for compare-and-set. @internal */
export interface Remembered {
  /** The grant the record holds. */
  grant: Grant;
  /** The record as Keyv hands it out (after its deserialization). */
  value: string;
  /** The record as the adapter stores it (Keyv's serialization), when known. */
  serialized: string | undefined;
}

/** Bounded, least recently remembered first out. @internal */
export class RememberedRecords {
  readonly #seen = new Map<string, Remembered>();

  /** The record last seen for `key`, or `undefined`. */
  get(key: string): Remembered | undefined {
    return this.#seen.get(key);
  }

  /**
   * Remembers `value` (holding `grant`) as the record stored for `grant.key`; `serialized`, when
   * known, is exactly what the adapter holds (read with a lease, or just written).
   */
  remember(grant: Grant, value: string, serialized?: string): void {
    const { key } = grant;
    this.#seen.delete(key);
    this.#seen.set(key, { grant, value, serialized });
    if (this.#seen.size > MAX_REMEMBERED) this.#seen.delete(this.#seen.keys().next().value!);
  }

  /** Forgets `key` (deleted, or written without a compare-and-set). */
  forget(key: string): void {
    this.#seen.delete(key);
  }
}
