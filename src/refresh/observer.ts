/**
 * What the refresh reports to an observer (OpenTelemetry in `telemetry/`): one call when a refresh
 * transaction starts and one when it ends, with its outcome. Keys and counts only, never a token.
 * @module
 */

/** How a refresh transaction ended. */
export type RefreshOutcomeName = 'refreshed' | 'adopted' | 'reauth_required' | 'failed' | 'persist_failed';

/** The end of one observed refresh. @internal */
export interface ObservedRefresh {
  end(outcome: RefreshOutcomeName, details: { rotations?: number | undefined; errorCode?: string | undefined }): void;
}

/** Observes refresh transactions. @internal */
export interface RefreshObserver {
  refreshStarted(key: string): ObservedRefresh;
}
