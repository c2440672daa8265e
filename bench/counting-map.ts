/**
 * A `Map` to give Keyv as its store, counting the reads and writes of grant records, so a section
 * can say how many store operations the SDK made.
 * @module
 */

/**
 * @example
 * ```ts
 * const counting = new CountingMap();
 * const store = new Keyv({ store: counting });
 * // ... use the manager ...
 * console.log(counting.reads, counting.writes);
 * ```
 */
export class CountingMap extends Map<string, unknown> {
  /** `get` calls for grant records. */
  reads = 0;
  /** `set` calls for grant records. */
  writes = 0;

  override get(key: string): unknown {
    if (key.includes('grant:')) this.reads++;
    return super.get(key);
  }

  override set(key: string, value: unknown): this {
    if (key.includes('grant:')) this.writes++;
    return super.set(key, value);
  }

  resetCounts(): void {
    this.reads = 0;
    this.writes = 0;
  }
}
