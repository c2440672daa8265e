/**
 * The one backoff policy of the SDK: exponential from `minMs`, capped at `maxMs`, optionally
 * jittered. Used by every hand-run wait loop (store watch, introspection retries, the write-behind
 * of unpersisted grants, lease acquisition); p-retry applies the same shape to token requests.
 * @module
 */

/** A backoff policy. All durations in milliseconds. */
export interface BackoffPolicy {
  minMs: number;
  maxMs: number;
  /** Multiplier per attempt. Default 2. */
  factor?: number;
  /** Spread each delay over `[d, 2d)` so that waiters do not wake together. Default false. */
  jitter?: boolean;
}

/**
 * The delay before retry number `attempt` (0 for the first retry).
 *
 * @example
 * ```ts
 * backoffDelayMs({ minMs: 20, maxMs: 250 }, 3); // 160
 * ```
 */
export function backoffDelayMs(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const base = Math.min(policy.maxMs, policy.minMs * (policy.factor ?? 2) ** Math.min(attempt, 32));
  return policy.jitter === true ? Math.min(policy.maxMs, base * (1 + random())) : base;
}
