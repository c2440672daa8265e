/**
 * Fires many callers at once and records, for each, how long its promise took and whether it settled
 * after a given moment (the end of a refresh).
 * @module
 */

/** What happened to a burst of callers. */
export interface Burst {
  /** ms from each call to its promise settling. */
  latenciesMs: number[];
  /** The values the callers got (rejections excluded). */
  values: unknown[];
  rejected: number;
  /** Callers fired before `doneAtNs()` was set (i.e. while the refresh was still in flight). */
  firedBeforeDone: number;
  /** Callers whose promise settled after `doneAtNs()` was set: they waited for the refresh. */
  settledAfterDone: number;
}

/** Options of {@link fireCallers}. */
export interface BurstOptions {
  callers: number;
  /**
   * Callers fired per event-loop turn; between batches the loop turns once (`setImmediate`), as when
   * requests arrive over time. `callers` fires them all in one synchronous loop.
   */
  batchSize: number;
  /** hrtime (ns) at which the refresh completed, `undefined` while it is in flight. */
  doneAtNs?: () => bigint | undefined;
}

/**
 * Fires `callers` calls of `call`, `batchSize` per event-loop turn, and waits for all of them.
 *
 * @example
 * ```ts
 * const burst = await fireCallers(() => tokens.getAccessToken('user-42'), { callers: 10_000, batchSize: 100 });
 * ```
 */
export async function fireCallers(call: () => Promise<unknown>, options: BurstOptions): Promise<Burst> {
  const doneAtNs = options.doneAtNs ?? (() => undefined);
  const burst: Burst = { latenciesMs: new Array<number>(options.callers), values: [], rejected: 0, firedBeforeDone: 0, settledAfterDone: 0 };
  const pending: Array<Promise<void>> = [];
  let fired = 0;
  while (fired < options.callers) {
    const batchEnd = Math.min(options.callers, fired + options.batchSize);
    for (; fired < batchEnd; fired++) {
      const index = fired;
      if (doneAtNs() === undefined) burst.firedBeforeDone++;
      const start = process.hrtime.bigint();
      const settle = (): void => {
        burst.latenciesMs[index] = Number(process.hrtime.bigint() - start) / 1e6;
        if (doneAtNs() !== undefined) burst.settledAfterDone++;
      };
      pending.push(call().then(
        (value) => {
          settle();
          burst.values.push(value);
        },
        () => {
          settle();
          burst.rejected++;
        },
      ));
    }
    if (fired < options.callers) await new Promise((resolve) => setImmediate(resolve));
  }
  await Promise.all(pending);
  return burst;
}
