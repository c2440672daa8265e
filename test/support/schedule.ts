/**
 * When `npm test` (`test/run.ts`) starts the next test file. Each file weighs 1 (a full share of the
 * CPU while it runs), or less when it mostly waits (on servers, timers, child processes): files start
 * while the weights of those running stay within the `budget` (cores + 1); beyond that, up to
 * `maximum` files, one more when most of a core sat idle over the last two seconds and the last file
 * started long enough ago to be past its own start-up (a file just started has not yet shown what it
 * costs). The idle time is the machine's, so other work on a shared machine counts too. A fixed count
 * of files either leaves the cores idle while the waiting files wait, or starves the timing-sensitive
 * tests when the machine is shared.
 *
 * @example
 * mayStartAnother({ budget: 3, maximum: 6, load: 2.5, weight: 0.5, running: 4, idleCores: 0, msSinceLastStart: 0 }); // true
 * mayStartAnother({ budget: 3, maximum: 6, load: 3, weight: 1, running: 3, idleCores: 1.2, msSinceLastStart: 4_000 }); // true
 * mayStartAnother({ budget: 3, maximum: 6, load: 3, weight: 1, running: 3, idleCores: 0.3, msSinceLastStart: 4_000 }); // false
 */
export interface ScheduleState {
  /** Files run while the sum of their weights stays within this (cores + 1). */
  budget: number;
  /** Never more files than this at once. */
  maximum: number;
  /** Sum of the weights of the files running now. */
  load: number;
  /** Weight of the next file. */
  weight: number;
  /** Files running now. */
  running: number;
  /** Cores idle on average over the last two seconds; `undefined` when not known (yet). */
  idleCores: number | undefined;
  /** Since the last file was started, ms. */
  msSinceLastStart: number;
}

/** Idle cores needed to start a file beyond the budget. */
export const IDLE_CORES_FOR_ANOTHER = 0.8;
/** A file started beyond the budget waits this long after the previous start (one file's start-up). */
export const MS_BETWEEN_EXTRA_STARTS = 3_000;
/** Weight of a file that mostly waits (its CPU time is a fifth to two fifths of its wall time, measured). */
export const WAITING_FILE_WEIGHT = 0.5;

export function mayStartAnother(state: ScheduleState): boolean {
  if (state.running === 0) return true;
  if (state.running >= state.maximum) return false;
  if (state.load + state.weight <= state.budget + 1e-9) return true;
  return state.idleCores !== undefined && state.idleCores >= IDLE_CORES_FOR_ANOTHER
    && state.msSinceLastStart >= MS_BETWEEN_EXTRA_STARTS;
}
