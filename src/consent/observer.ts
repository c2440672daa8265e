/**
 * What the consent flow reports to an observer (OpenTelemetry in `telemetry/`): each completion of a
 * consent, with its outcome. Structural, so that the consent flow depends on no telemetry module.
 * @module
 */

/** The end of one observed consent completion. @internal */
export interface ObservedAuthorization {
  end(outcome: 'completed' | 'failed', details: { key?: string | undefined; errorCode?: string | undefined }): void;
}

/** Observes consent completions. @internal */
export interface ConsentObserver {
  /** Resolves once the observer can observe (one loaded on first use). */
  ready?(): Promise<void>;
  authorizationStarted(): ObservedAuthorization;
}

/** Runs `run` (the completion of a consent), reporting its outcome to `observer` when there is one. */
export async function observeAuthorization<T extends { key: string }>(observer: ConsentObserver | undefined, run: () => Promise<T>): Promise<T> {
  if (observer === undefined) return run();
  if (observer.ready !== undefined) await observer.ready();
  const observed = observer.authorizationStarted();
  try {
    const grant = await run();
    observed.end('completed', { key: grant.key });
    return grant;
  } catch (error) {
    observed.end('failed', { errorCode: (error as { code?: unknown }).code === undefined ? undefined : String((error as { code?: unknown }).code) });
    throw error;
  }
}
