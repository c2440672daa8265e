/**
 * How long to wait before asking the server about another process's in-flight marker. The marker's
 * time was written with *that* process's clock and its age is read with ours: hosts disagree by some
 * amount, so the age is trusted only beyond {@link MAX_CLOCK_SKEW_MS}.
 * @module
 */

/**
 * Largest clock difference between two hosts of a fleet that the in-flight marker's age tolerates.
 * A host whose clock runs further ahead of the marker's writer may ask the server (and, on an
 * `active` answer, present the refresh token) while the dead writer's request is still in flight.
 */
export const MAX_CLOCK_SKEW_MS = 5_000;

/**
 * The wait, in ms, before a marker written `ageMs` ago (by our clock) may be settled at the server: a
 * request sent when the marker was written may be processed up to `requestTimeoutMs` later. Never
 * more than `requestTimeoutMs` (the true age is never negative); a marker that looks younger than
 * the skew allowance, or from the future, gets the whole wait.
 *
 * @example
 * ```ts
 * markerWaitMs(0, 10_000);      // 10_000: just written
 * markerWaitMs(12_000, 10_000); // 3_000: 12 s by our clock, maybe 7 s by the writer's
 * markerWaitMs(60_000, 10_000); // 0: long settled, whatever the skew
 * ```
 */
export function markerWaitMs(ageMs: number, requestTimeoutMs: number): number {
  return Math.min(requestTimeoutMs, Math.max(0, requestTimeoutMs + MAX_CLOCK_SKEW_MS - ageMs));
}
