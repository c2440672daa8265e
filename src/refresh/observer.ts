/**
 * What the refresh reports to an observer (OpenTelemetry in `telemetry/`): one call when a refresh
 * transaction starts and one when it ends, with its outcome. Keys and counts only, never a token.
 * @module
 */
import { ReauthRequiredError } from '../errors.ts';

/** How a refresh transaction ended. */
export type RefreshOutcomeName = 'refreshed' | 'adopted' | 'reauth_required' | 'failed' | 'persist_failed';

/** The end of one observed refresh. @internal */
export interface ObservedRefresh {
  end(outcome: RefreshOutcomeName, details: { rotations?: number | undefined; errorCode?: string | undefined }): void;
}

/** Observes refresh transactions. @internal */
export interface RefreshObserver {
  /** Resolves once the observer can observe (one loaded on first use); awaited before `refreshStarted`. */
  ready?(): Promise<void>;
  refreshStarted(key: string): ObservedRefresh;
}

/** The shape of a refresh transaction's outcome that is observed (structural: no import of the transaction). */
type ObservableOutcome =
  | { grant: { rotations: number }; refreshed: boolean }
  | { unpersisted: { grant: { rotations: number } }; error: { code: string } };

/** Runs a refresh transaction, reporting its start and outcome to `observer` (when there is one). */
export async function observeRefresh<T extends ObservableOutcome>(observer: RefreshObserver | undefined, key: string, run: () => Promise<T>): Promise<T> {
  if (observer === undefined) return run();
  if (observer.ready !== undefined) await observer.ready();
  const observed = observer.refreshStarted(key);
  let outcome: T;
  try {
    outcome = await run();
  } catch (error) {
    observed.end(error instanceof ReauthRequiredError ? 'reauth_required' : 'failed', { errorCode: (error as { code?: string }).code });
    throw error;
  }
  if ('unpersisted' in outcome) observed.end('persist_failed', { rotations: outcome.unpersisted.grant.rotations, errorCode: outcome.error.code });
  else observed.end(outcome.refreshed ? 'refreshed' : 'adopted', { rotations: outcome.grant.rotations });
  return outcome;
}
