/**
 * Retries of calls to the authorization server (p-retry): transient failures only, honouring
 * `Retry-After`, within a time budget and the caller's signal.
 *
 * Two limits, on purpose: `deadlineMs` stops *starting* attempts, and `hardDeadlineMs` (the lock
 * lease) is the only one that aborts an attempt in flight. Aborting a refresh request that the server
 * may already be processing would turn a slow success into a lost rotation.
 * @module
 */
import pRetry, { AbortError } from 'p-retry';
import { sleep } from '../util/abort.ts';
import type { Clock } from '../util/clock.ts';
import { classifyFailure, type Failure } from './classify.ts';

/** Options of {@link retryTransient}. */
export interface RetryOptions {
  /** No attempt (or wait) starts after this many ms. */
  deadlineMs: number;
  /** Attempts in flight are aborted after this many ms (`Infinity`: only by `signal`). */
  hardDeadlineMs: number;
  /**
   * Also aborts attempts in flight (and stops retrying), like `hardDeadlineMs`: for a bound that moves,
   * such as a lock lease that is renewed. Abort it with a `TimeoutError` so that the request counts
   * as timed out (it may have reached the server).
   */
  hardSignal?: AbortSignal;
  /** Most attempts after the first. */
  retries: number;
  /** First backoff delay, in ms. */
  minDelayMs: number;
  signal: AbortSignal;
  /** Wall time classifies failures (`Retry-After` dates); monotonic time measures `deadlineMs`. */
  clock: Clock;
  /**
   * Called on every transient failure before waiting; may throw to stop retrying (used to decide
   * whether a request that may have reached the server can be sent again).
   */
  onTransient?: (failure: Extract<Failure, { kind: 'transient' }>, error: unknown) => Promise<void> | void;
}

/** Thrown when the time or the retries ran out while failures were transient; `lastError` is the last of them. */
export class GaveUp extends Error {
  readonly lastError: unknown;
  readonly retryAfterMs: number | undefined;
  constructor(lastError: unknown, retryAfterMs: number | undefined) {
    super('Gave up retrying transient failures');
    this.lastError = lastError;
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * Calls `fn` until it succeeds, a failure is not transient, or time runs out.
 * Non-transient failures are rethrown unchanged; running out of time or retries throws {@link GaveUp}.
 *
 * @example
 * ```ts
 * const response = await retryTransient((signal) => refresh(signal), {
 *   deadlineMs: 30_000, hardDeadlineMs: 55_000, retries: 5, minDelayMs: 200, signal, clock: systemClock,
 * });
 * ```
 */
export async function retryTransient<T>(fn: (signal: AbortSignal) => Promise<T>, options: RetryOptions): Promise<T> {
  const bounds = [options.signal];
  if (Number.isFinite(options.hardDeadlineMs)) bounds.push(AbortSignal.timeout(Math.max(0, Math.floor(options.hardDeadlineMs))));
  if (options.hardSignal !== undefined) bounds.push(options.hardSignal);
  const hard = bounds.length === 1 ? options.signal : AbortSignal.any(bounds);
  const { clock } = options;
  const startedAt = clock.monotonicMs();
  const remainingMs = (): number => options.deadlineMs - (clock.monotonicMs() - startedAt);
  let last: { error: unknown; retryAfterMs: number | undefined } | undefined;
  try {
    return await pRetry(
      async () => {
        if (last !== undefined && remainingMs() <= 0) throw new AbortError(new GaveUp(last.error, last.retryAfterMs));
        try {
          return await fn(hard);
        } catch (error) {
          const failure = classifyFailure(error, clock.wallMs());
          if (failure.kind !== 'transient' || hard.aborted) throw new AbortError(toError(error));
          last = { error, retryAfterMs: failure.retryAfterMs };
          try {
            await options.onTransient?.(failure, error);
          } catch (verdict) {
            throw new AbortError(toError(verdict));
          }
          throw error;
        }
      },
      {
        retries: options.retries,
        minTimeout: options.minDelayMs,
        factor: 2,
        randomize: true,
        maxRetryTime: Math.max(0, options.deadlineMs),
        signal: hard,
        shouldRetry: () => true,
        onFailedAttempt: async ({ retryDelay }) => {
          const retryAfterMs = last?.retryAfterMs;
          if (retryAfterMs === undefined || retryAfterMs <= retryDelay) return;
          if (retryAfterMs > remainingMs()) throw new GaveUp(last?.error, retryAfterMs);
          await sleep(retryAfterMs - retryDelay, hard);
        },
      },
    );
  } catch (error) {
    if (options.signal.aborted) throw options.signal.reason;
    if (error instanceof GaveUp) throw error;
    if (last !== undefined && (hard.aborted || error === last.error)) throw new GaveUp(last.error, last.retryAfterMs);
    throw error;
  }
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
