/**
 * The OpenTelemetry observer loaded on first use: `@opentelemetry/api` is imported at the first
 * refresh or consent (their `ready`), or one second after the first cache registers (so a process that
 * only serves stored tokens still reports its cache metrics), never on the way to a cold start's first
 * token. The adapter itself (`otel.ts`, `instruments.ts`) is imported then too: the package's build
 * makes it a chunk of its own, not part of what a cold start loads.
 * @module
 */
import type { ObservedAuthorization, ObservedCache, ObservedRefresh, RefreshObserver } from '../refresh/observer.ts';

/** How long after the first cache registers the API is loaded when nothing else asked for it. */
const IDLE_LOAD_DELAY_MS = 1_000;

const UNOBSERVED_REFRESH: ObservedRefresh = {
  lockWaitStarted: () => () => {},
  attemptStarted() {},
  end() {},
};
const UNOBSERVED_AUTHORIZATION: ObservedAuthorization = { end() {} };

/**
 * An observer that forwards to the OpenTelemetry one once loaded; until then refreshes and consents
 * wait for `ready()`, and caches are remembered and registered on load.
 *
 * @example
 * ```ts
 * const observer = deferOpenTelemetry();
 * const outcome = await observeRefresh(observer, key, (observed) => refreshGrant(ctx, key, request, signal));
 * ```
 */
export function deferOpenTelemetry(): RefreshObserver {
  let loading: Promise<void> | undefined;
  let loaded: RefreshObserver | undefined;
  /** Caches registered before the load, each with its unregistration once forwarded. */
  const caches = new Map<ObservedCache, (() => void) | undefined>();
  const ready = (): Promise<void> => (loading ??= import('./otel.ts').then((otel) => otel.loadOpenTelemetry()).then((observer) => {
    loaded = observer;
    if (observer !== undefined) for (const cache of caches.keys()) caches.set(cache, observer.observeCache(cache));
  }, () => {}));
  return {
    ready,
    refreshStarted: (key) => loaded?.refreshStarted(key) ?? UNOBSERVED_REFRESH,
    authorizationStarted: () => loaded?.authorizationStarted() ?? UNOBSERVED_AUTHORIZATION,
    observeCache(cache) {
      if (loaded !== undefined) return loaded.observeCache(cache);
      caches.set(cache, undefined);
      if (loading === undefined) setTimeout(() => void ready(), IDLE_LOAD_DELAY_MS).unref();
      return () => {
        caches.get(cache)?.();
        caches.delete(cache);
      };
    },
  };
}
