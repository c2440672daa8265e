/**
 * When `npm test` (`test/run.ts`) starts one more test file: always while fewer than `minimum` run;
 * beyond that, up to `maximum`, when most of a core sat idle over the last two seconds and the last
 * file started long enough ago to be past its own start-up (a file just started has not yet shown
 * what it costs). Many files mostly wait (on servers, timers, child processes): a fixed count leaves
 * the cores idle, a larger fixed count starves the timing-sensitive tests when the waiting files all
 * wake at once or the machine is shared. The idle time is the machine's, so other work on a shared
 * machine counts too.
 *
 * @example
 * mayStartAnother({ minimum: 3, maximum: 5, running: 3, idleCores: 1.2, msSinceLastStart: 4_000 }); // true
 * mayStartAnother({ minimum: 3, maximum: 5, running: 3, idleCores: 0.3, msSinceLastStart: 4_000 }); // false
 */
export interface ScheduleState {
  /** Files run at least this many at once (while any are left). */
  minimum: number;
  /** Never more than this many at once. */
  maximum: number;
  /** Files running now. */
  running: number;
  /** Cores idle on average over the last two seconds; `undefined` when not known (yet). */
  idleCores: number | undefined;
  /** Since the last file was started, ms. */
  msSinceLastStart: number;
}

/** Idle cores needed to start a file beyond the minimum. */
export const IDLE_CORES_FOR_ANOTHER = 0.8;
/** A file started beyond the minimum waits this long after the previous start (one file's start-up). */
export const MS_BETWEEN_EXTRA_STARTS = 3_000;

export function mayStartAnother(state: ScheduleState): boolean {
  if (state.running < state.minimum) return true;
  return state.running < state.maximum
    && state.idleCores !== undefined && state.idleCores >= IDLE_CORES_FOR_ANOTHER
    && state.msSinceLastStart >= MS_BETWEEN_EXTRA_STARTS;
}
