/**
 * OpenTelemetry for refreshes, through `@opentelemetry/api` when the application has it installed
 * (an optional peer; loaded on first use). The API is a no-op until the application registers an SDK:
 * the SDK adds nothing then.
 *
 * - span `offline_tokens.refresh`: attributes `offline_tokens.outcome`, `offline_tokens.rotations`,
 *   `offline_tokens.key_hash` (SHA-256 of the key, first 16 hex digits: never the raw key or a token),
 *   `offline_tokens.error_code`; status ERROR when the refresh failed.
 * - counter `offline_tokens.refreshes` by `offline_tokens.outcome`.
 * - histogram `offline_tokens.refresh.duration`, in seconds, by `offline_tokens.outcome`.
 *
 * Instruments are created on the first refresh, so register the SDK before refreshes start.
 * @module
 */
import { nodeCrypto } from '../util/node-crypto.ts';
import type * as OpenTelemetryApi from '@opentelemetry/api';
import type { ObservedRefresh, RefreshObserver } from '../refresh/observer.ts';

type Api = typeof OpenTelemetryApi;

const SCOPE = 'offline-tokens';

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

const UNOBSERVED: ObservedRefresh = { end() {} };

/**
 * The observer over `@opentelemetry/api`, imported when the first refresh starts (its `ready`), not
 * when the manager is created: a process that only serves stored, valid tokens never loads it.
 *
 * @example
 * ```ts
 * const observer = deferOpenTelemetry();
 * const outcome = await observeRefresh(observer, key, () => refreshGrant(ctx, key, request, signal));
 * ```
 */
export function deferOpenTelemetry(): RefreshObserver {
  let loading: Promise<void> | undefined;
  let loaded: RefreshObserver | undefined;
  return {
    ready: () => (loading ??= loadOpenTelemetry().then((observer) => {
      loaded = observer;
    })),
    refreshStarted: (key) => loaded?.refreshStarted(key) ?? UNOBSERVED,
  };
}

/** Spans and metrics of refreshes through `api`. */
export function createOpenTelemetryObserver(api: Api): RefreshObserver {
  let instruments: { refreshes: OpenTelemetryApi.Counter; duration: OpenTelemetryApi.Histogram } | undefined;
  const getInstruments = () => {
    if (instruments !== undefined) return instruments;
    const meter = api.metrics.getMeter(SCOPE);
    instruments = {
      refreshes: meter.createCounter('offline_tokens.refreshes', { description: 'Refresh transactions, by outcome', unit: '{refresh}' }),
      duration: meter.createHistogram('offline_tokens.refresh.duration', { description: 'Duration of refresh transactions (lock wait included)', unit: 's' }),
    };
    return instruments;
  };
  return {
    refreshStarted(key: string): ObservedRefresh {
      const startedAt = performance.now();
      const span = api.trace.getTracer(SCOPE).startSpan('offline_tokens.refresh', {
        kind: api.SpanKind.INTERNAL,
        attributes: { 'offline_tokens.key_hash': hashKey(key) },
      });
      return {
        end(outcome, details) {
          const seconds = (performance.now() - startedAt) / 1000;
          span.setAttribute('offline_tokens.outcome', outcome);
          if (details.rotations !== undefined) span.setAttribute('offline_tokens.rotations', details.rotations);
          if (details.errorCode !== undefined) span.setAttribute('offline_tokens.error_code', details.errorCode);
          if (outcome === 'failed' || outcome === 'persist_failed') span.setStatus({ code: api.SpanStatusCode.ERROR, message: details.errorCode ?? outcome });
          span.end();
          const { refreshes, duration } = getInstruments();
          const attributes = { 'offline_tokens.outcome': outcome };
          refreshes.add(1, attributes);
          duration.record(seconds, attributes);
        },
      };
    },
  };
}

/** Keys are user ids: telemetry backends get a stable pseudonym instead. */
function hashKey(key: string): string {
  return nodeCrypto().createHash('sha256').update(key).digest('hex').slice(0, 16);
}
