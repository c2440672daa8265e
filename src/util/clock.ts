/**
 * The one clock of the SDK: wall time for decisions that compare with stored epoch times (expiry,
 * refresh windows, record TTLs), monotonic time for deadlines (retry budgets, lock waits, leases).
 * Injected everywhere, so a test drives both; timers themselves stay real.
 * @module
 */
import { ConfigurationError } from '../errors.ts';

/**
 * A source of time, in milliseconds.
 *
 * @example
 * ```ts
 * // A clock a test moves by hand: decisions and deadlines follow it.
 * let wall = Date.parse('2026-01-01T00:00:00Z');
 * let mono = 0;
 * const clock: Clock = { wallMs: () => wall, monotonicMs: () => mono };
 * ```
 */
export interface Clock {
  /** Epoch ms, like `Date.now()`: compared with expiry times stored in grants and records. */
  wallMs(): number;
  /** Ms from an arbitrary origin that never goes back, like `performance.now()`: for deadlines. */
  monotonicMs(): number;
}

/** The real clock: `Date.now()` and `performance.now()`. */
export const systemClock: Clock = {
  wallMs: () => Date.now(),
  monotonicMs: () => performance.now(),
};

/**
 * The clock an option `now` stands for: a {@link Clock} as is; a bare `() => number` (the shape before
 * the clock existed) for wall time only, with deadlines on the real monotonic clock, as they were;
 * `undefined` for {@link systemClock}.
 * @throws {ConfigurationError} when `now` is neither.
 * @example
 * ```ts
 * toClock(() => 0).wallMs(); // 0
 * ```
 */
export function toClock(now: unknown, name = 'now'): Clock {
  if (now === undefined) return systemClock;
  if (typeof now === 'function') return { wallMs: now as () => number, monotonicMs: systemClock.monotonicMs };
  if (typeof now === 'object' && now !== null && typeof (now as Clock).wallMs === 'function' && typeof (now as Clock).monotonicMs === 'function') return now as Clock;
  throw new ConfigurationError(`Expected \`${name}\` to be a function (epoch ms) or a clock \`{ wallMs(), monotonicMs() }\``);
}
