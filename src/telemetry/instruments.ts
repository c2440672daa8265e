/**
 * The metric instruments of `offline-tokens`, over the meter provider the application registered.
 * The metrics API has no proxy provider (an instrument made before the SDK is registered stays a
 * no-op), so the instruments are made again whenever the global provider has changed; they are
 * looked up on slow paths only (a refresh, a consent, a manager's creation).
 *
 * The cache metrics are observable: the hot path only increments integers in the cache
 * ({@link ObservedCache}), read here when the metrics are collected.
 * @module
 */
import type * as OpenTelemetryApi from '@opentelemetry/api';
import type { ObservedCache } from '../refresh/observer.ts';

type Api = typeof OpenTelemetryApi;

/** The instrumentation scope: meter and tracer name. */
export const SCOPE = 'offline-tokens';

/** Statuses always reported by the grants gauge (0 when none), so a series never vanishes. */
const KNOWN_STATUSES = ['active', 'reauth_required'];

/** The instruments a refresh or a lock wait records into. @internal */
export interface Instruments {
  refreshes: OpenTelemetryApi.Counter;
  refreshDuration: OpenTelemetryApi.Histogram;
  lockWait: OpenTelemetryApi.Histogram;
}

/** The caches of every manager of the process, summed at collection time. @internal */
export class CacheRegistry {
  readonly #caches = new Set<ObservedCache>();
  /** Counts of closed managers: a cumulative counter never goes down. */
  #retiredHits = 0;
  #retiredMisses = 0;

  /** Reports `cache` until the returned function is called. */
  add(cache: ObservedCache): () => void {
    this.#caches.add(cache);
    return () => {
      if (!this.#caches.delete(cache)) return;
      this.#retiredHits += cache.hits;
      this.#retiredMisses += cache.misses;
    };
  }

  requests(): { hits: number; misses: number } {
    let hits = this.#retiredHits;
    let misses = this.#retiredMisses;
    for (const cache of this.#caches) {
      hits += cache.hits;
      misses += cache.misses;
    }
    return { hits, misses };
  }

  grantsByStatus(): Record<string, number> {
    const total: Record<string, number> = Object.fromEntries(KNOWN_STATUSES.map((status) => [status, 0]));
    for (const cache of this.#caches) {
      for (const [status, count] of Object.entries(cache.statusCounts())) total[status] = (total[status] ?? 0) + count;
    }
    return total;
  }
}

/**
 * The instruments over the current global meter provider, made on first use and again after the
 * application registered another provider.
 */
export function instrumentsOf(api: Api, caches: CacheRegistry): () => Instruments {
  let provider: OpenTelemetryApi.MeterProvider | undefined;
  let instruments: Instruments | undefined;
  return () => {
    const current = api.metrics.getMeterProvider();
    if (instruments !== undefined && provider === current) return instruments;
    provider = current;
    const meter = current.getMeter(SCOPE);
    instruments = {
      refreshes: meter.createCounter('offline_tokens.refreshes', { description: 'Refresh transactions, by outcome', unit: '{refresh}' }),
      refreshDuration: meter.createHistogram('offline_tokens.refresh.duration', { description: 'Duration of refresh transactions (lock wait included)', unit: 's' }),
      lockWait: meter.createHistogram('offline_tokens.lock.wait', { description: 'Time a refresh waited for the grant\'s lock', unit: 's' }),
    };
    meter.createObservableCounter('offline_tokens.cache.requests', {
      description: 'Access token requests answered from memory (hit) or that needed the store or a refresh (miss)',
      unit: '{request}',
    }).addCallback((result) => {
      const { hits, misses } = caches.requests();
      result.observe(hits, { 'offline_tokens.cache.result': 'hit' });
      result.observe(misses, { 'offline_tokens.cache.result': 'miss' });
    });
    meter.createObservableGauge('offline_tokens.grants', {
      description: 'Grants held in the in-memory caches of this process, by status',
      unit: '{grant}',
    }).addCallback((result) => {
      for (const [status, count] of Object.entries(caches.grantsByStatus())) result.observe(count, { 'offline_tokens.grant.status': status });
    });
    return instruments;
  };
}
