/**
 * OpenTelemetry through `@opentelemetry/api` when the application has it installed (an optional
 * peer; loaded on first use). The API is a no-op until the application registers an SDK: the SDK adds
 * nothing then. Never a token or a raw key: keys are hashed.
 *
 * Spans:
 * - `offline_tokens.refresh`: attributes `offline_tokens.outcome`, `offline_tokens.rotations`,
 *   `offline_tokens.attempts` (requests to the token endpoint), `offline_tokens.lock_wait_ms`,
 *   `offline_tokens.adopted`, `offline_tokens.key_hash` (SHA-256 of the key, first 16 hex digits),
 *   `offline_tokens.error_code`; status ERROR when the refresh failed.
 * - `offline_tokens.lock.acquire`, child of the refresh: from asking for the grant's lock until it is
 *   held, or until the wait ended without it (another process's rotation adopted meanwhile);
 *   attributes `offline_tokens.lock_wait_ms`, `offline_tokens.lock.acquired`.
 * - `offline_tokens.authorization.complete`: a consent's callback (code exchange and stored grant);
 *   attributes `offline_tokens.outcome` (`completed`, `failed`), `offline_tokens.key_hash`,
 *   `offline_tokens.error_code`.
 *
 * Metrics (see `instruments.ts`): counter `offline_tokens.refreshes` and histogram
 * `offline_tokens.refresh.duration` (s) by `offline_tokens.outcome`; histogram `offline_tokens.lock.wait`
 * (s) by `offline_tokens.lock.acquired`; observable counter `offline_tokens.cache.requests` by
 * `offline_tokens.cache.result` (`hit`, `miss`); observable gauge `offline_tokens.grants` by
 * `offline_tokens.grant.status` (the grants in this process's caches).
 * @module
 */
import { nodeCrypto } from '../util/node-crypto.ts';
import type * as OpenTelemetryApi from '@opentelemetry/api';
import type { ObservedAuthorization, ObservedRefresh, RefreshObserver } from '../refresh/observer.ts';
import { CacheRegistry, instrumentsOf, SCOPE } from './instruments.ts';

type Api = typeof OpenTelemetryApi;

/** One observer per API module: every manager of the process reports into the same instruments. */
const observers = new WeakMap<Api, RefreshObserver>();

/** The observer over `@opentelemetry/api`, or `undefined` when the package is not installed. */
export async function loadOpenTelemetry(): Promise<RefreshObserver | undefined> {
  let api: Api;
  try {
    api = await import('@opentelemetry/api');
  } catch {
    return undefined;
  }
  return createOpenTelemetryObserver(api);
}

/** Spans and metrics of refreshes, lock waits, consents and caches through `api` (one per `api`). */
export function createOpenTelemetryObserver(api: Api): RefreshObserver {
  const existing = observers.get(api);
  if (existing !== undefined) return existing;
  const caches = new CacheRegistry();
  const instruments = instrumentsOf(api, caches);
  const tracer = () => api.trace.getTracer(SCOPE);
  const observer: RefreshObserver = {
    refreshStarted(key: string): ObservedRefresh {
      const startedAt = performance.now();
      const span = tracer().startSpan('offline_tokens.refresh', {
        kind: api.SpanKind.INTERNAL,
        attributes: { 'offline_tokens.key_hash': hashKey(key) },
      });
      let attempts = 0;
      let lockWaitMs = 0;
      return {
        lockWaitStarted() {
          const waitStartedAt = performance.now();
          const lockSpan = tracer().startSpan('offline_tokens.lock.acquire', { kind: api.SpanKind.INTERNAL }, api.trace.setSpan(api.context.active(), span));
          return (acquired) => {
            const waitedMs = performance.now() - waitStartedAt;
            lockWaitMs += waitedMs;
            lockSpan.setAttributes({ 'offline_tokens.lock_wait_ms': Math.round(waitedMs), 'offline_tokens.lock.acquired': acquired });
            lockSpan.end();
            instruments().lockWait.record(waitedMs / 1000, { 'offline_tokens.lock.acquired': acquired });
          };
        },
        attemptStarted() {
          attempts++;
        },
        end(outcome, details) {
          const seconds = (performance.now() - startedAt) / 1000;
          span.setAttributes({
            'offline_tokens.outcome': outcome,
            'offline_tokens.attempts': attempts,
            'offline_tokens.lock_wait_ms': Math.round(lockWaitMs),
            'offline_tokens.adopted': outcome === 'adopted',
          });
          if (details.rotations !== undefined) span.setAttribute('offline_tokens.rotations', details.rotations);
          if (details.errorCode !== undefined) span.setAttribute('offline_tokens.error_code', details.errorCode);
          if (outcome === 'failed' || outcome === 'persist_failed') span.setStatus({ code: api.SpanStatusCode.ERROR, message: details.errorCode ?? outcome });
          span.end();
          const { refreshes, refreshDuration } = instruments();
          const attributes = { 'offline_tokens.outcome': outcome };
          refreshes.add(1, attributes);
          refreshDuration.record(seconds, attributes);
        },
      };
    },
    authorizationStarted(): ObservedAuthorization {
      const span = tracer().startSpan('offline_tokens.authorization.complete', { kind: api.SpanKind.INTERNAL });
      return {
        end(outcome, details) {
          span.setAttribute('offline_tokens.outcome', outcome);
          if (details.key !== undefined) span.setAttribute('offline_tokens.key_hash', hashKey(details.key));
          if (details.errorCode !== undefined) span.setAttribute('offline_tokens.error_code', details.errorCode);
          if (outcome === 'failed') span.setStatus({ code: api.SpanStatusCode.ERROR, message: details.errorCode ?? outcome });
          span.end();
        },
      };
    },
    observeCache(cache) {
      instruments(); // registers the observable instruments with the current provider
      return caches.add(cache);
    },
  };
  observers.set(api, observer);
  return observer;
}

/** Pseudonyms already computed (a refresh of a key comes back every expiry); bounded by clearing. */
const hashedKeys = new Map<string, string>();

/** Keys are user ids: telemetry backends get a stable pseudonym instead. */
function hashKey(key: string): string {
  let hash = hashedKeys.get(key);
  if (hash === undefined) {
    if (hashedKeys.size >= 10_000) hashedKeys.clear();
    hash = nodeCrypto().createHash('sha256').update(key).digest('hex').slice(0, 16);
    hashedKeys.set(key, hash);
  }
  return hash;
}
