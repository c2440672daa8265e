/**
 * What the SDK reports to an observer (OpenTelemetry in `telemetry/`): the start and end of each
 * refresh transaction with its outcome, its lock wait and its attempts at the token endpoint; the
 * completion of consents; and the in-memory cache, read when metrics are collected. Keys and counts
 * only, never a token.
 * @module
 */
import { ReauthRequiredError } from '../errors.ts';
import type { GrantLock } from '../locks/lock.ts';

/** How a refresh transaction ended. */
export type RefreshOutcomeName = 'refreshed' | 'adopted' | 'reauth_required' | 'failed' | 'persist_failed';

/** The end of one observed refresh. @internal */
export interface ObservedRefresh {
  /** The grant's lock is being waited for; call the returned function once it is held (`true`) or the wait ended without it (`false`: adopted another process's rotation, aborted). */
  lockWaitStarted(): (acquired: boolean) => void;
  /** A request to the token endpoint starts (the first attempt or a retry). */
  attemptStarted(): void;
  end(outcome: RefreshOutcomeName, details: { rotations?: number | undefined; errorCode?: string | undefined }): void;
}

/** The end of one observed consent completion. @internal */
export interface ObservedAuthorization {
  end(outcome: 'completed' | 'failed', details: { key?: string | undefined; errorCode?: string | undefined }): void;
}

/** The cache as metrics read it: request counts and grants by status. @internal */
export interface ObservedCache {
  /** Calls answered from memory. Plain integers, incremented on the hot path. */
  readonly hits: number;
  /** Calls that needed the store or a refresh. */
  readonly misses: number;
  /** Cached grants by status. */
  statusCounts(): Record<string, number>;
}

/** Observes refresh transactions, consents and caches. @internal */
export interface RefreshObserver {
  /** Resolves once the observer can observe (one loaded on first use); awaited before `refreshStarted` and `authorizationStarted`. */
  ready?(): Promise<void>;
  refreshStarted(key: string): ObservedRefresh;
  authorizationStarted(): ObservedAuthorization;
  /** Reports `cache` until the returned function is called (the manager closed). */
  observeCache(cache: ObservedCache): () => void;
}

/** The shape of a refresh transaction's outcome that is observed (structural: no import of the transaction). */
type ObservableOutcome =
  | { grant: { rotations: number }; refreshed: boolean }
  | { unpersisted: { grant: { rotations: number } }; error: { code: string } };

/**
 * Runs a refresh transaction, reporting its start and outcome to `observer` (when there is one).
 * `run` gets the observed refresh, to report the lock wait ({@link observeLock}) and attempts.
 */
export async function observeRefresh<T extends ObservableOutcome>(observer: RefreshObserver | undefined, key: string, run: (observed: ObservedRefresh | undefined) => Promise<T>): Promise<T> {
  if (observer === undefined) return run(undefined);
  if (observer.ready !== undefined) await observer.ready();
  const observed = observer.refreshStarted(key);
  let outcome: T;
  try {
    outcome = await run(observed);
  } catch (error) {
    observed.end(error instanceof ReauthRequiredError ? 'reauth_required' : 'failed', { errorCode: (error as { code?: string }).code });
    throw error;
  }
  if ('unpersisted' in outcome) observed.end('persist_failed', { rotations: outcome.unpersisted.grant.rotations, errorCode: outcome.error.code });
  else observed.end(outcome.refreshed ? 'refreshed' : 'adopted', { rotations: outcome.grant.rotations });
  return outcome;
}

/** `lock`, reporting to `observed` how long each `withLock` waited before its callback ran. */
export function observeLock(lock: GrantLock, observed: ObservedRefresh): GrantLock {
  return {
    async withLock(key, fn, options) {
      const acquired = observed.lockWaitStarted();
      let held = false;
      try {
        return await lock.withLock(key, (lease) => {
          held = true;
          acquired(true);
          return fn(lease);
        }, options);
      } finally {
        if (!held) acquired(false);
      }
    },
  };
}
