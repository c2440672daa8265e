/**
 * The outcome of a compare-and-set, shared by stores (`storage/cas.ts`) and lease locks
 * (`locks/lease.ts`), whose lease can write the grant record and release itself in one round trip.
 * @module
 */

/**
 * The outcome of a compare-and-set: written, or not, with the raw value the store holds (`undefined`: none).
 *
 * @example
 * ```ts
 * const result: CompareAndSetResult = { ok: false, current: undefined }; // nothing stored
 * ```
 */
export type CompareAndSetResult =
  | {
      /** Written. */
      ok: true;
    }
  | {
      /** Not written: the stored value was not the expected one. */
      ok: false;
      /** The raw value the store holds instead (`undefined`: none). */
      current: string | undefined;
    };


/**
 * A compare-and-set Lua script's reply, `{1}` or `{0, current}` (Redis store and Redis lock), as a result.
 *
 * @example
 * ```ts
 * casResult([0, null]); // { ok: false, current: undefined }
 * ```
 */
export function casResult(reply: unknown): CompareAndSetResult {
  const [written, current] = reply as [number, string | null | undefined];
  return Number(written) === 1 ? { ok: true } : { ok: false, current: typeof current === 'string' ? current : undefined };
}
