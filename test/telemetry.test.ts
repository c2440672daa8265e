/**
 * OpenTelemetry: spans and metrics of refreshes, read back with the SDK's in-memory exporters.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { metrics, trace } from '@opentelemetry/api';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type GaugeMetricData, type HistogramMetricData, type SumMetricData } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { createInProcessLock, createTokenManager } from 'offline-tokens';
import { startAuthorizationServer, type AuthorizationServer } from './support/authorization-server.ts';
import { connect, createClock, managerOptions, rejection, TEST_NAMESPACE } from './support/harness.ts';

describe('OpenTelemetry', () => {
  let idp: AuthorizationServer;
  const spans = new InMemorySpanExporter();
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  before(async () => {
    idp = await startAuthorizationServer();
    trace.setGlobalTracerProvider(tracerProvider);
    metrics.setGlobalMeterProvider(meterProvider);
  });
  after(async () => {
    await idp.close();
    await meterProvider.shutdown();
    await tracerProvider.shutdown();
  });

  it('traces every refresh and counts refreshes by outcome, without a token or a raw key', async () => {
    const clock = createClock();
    const tokens = await createTokenManager(managerOptions(idp, 'post', { now: clock.now, maxRetries: 0 }));
    try {
      await connect(tokens, idp, 'user-otel');
      clock.advance(3_600_000);
      await tokens.getAccessToken('user-otel');
      idp.faults.push({ kind: 'respond', status: 503, body: 'busy' });
      await rejection(tokens.getAccessToken('user-otel', { forceRefresh: true }));
      await idp.revokeAllGrants();
      await rejection(tokens.getAccessToken('user-otel', { forceRefresh: true }));
    } finally {
      await tokens.close();
    }

    const finished = spans.getFinishedSpans().filter((span) => span.name === 'offline_tokens.refresh');
    assert.equal(finished.length, 3);
    assert.deepEqual(finished.map((span) => span.attributes['offline_tokens.outcome']), ['refreshed', 'failed', 'reauth_required']);
    assert.equal(finished[0]!.attributes['offline_tokens.rotations'], 1);
    assert.deepEqual(finished.map((span) => span.attributes['offline_tokens.attempts']), [1, 1, 1]);
    assert.deepEqual(finished.map((span) => span.attributes['offline_tokens.adopted']), [false, false, false]);
    for (const span of finished) assert.equal(typeof span.attributes['offline_tokens.lock_wait_ms'], 'number');
    // Each refresh waited for its lock once, in a child span.
    const lockSpans = spans.getFinishedSpans().filter((span) => span.name === 'offline_tokens.lock.acquire');
    assert.deepEqual(lockSpans.map((span) => parentOf(span)).sort(), finished.map((span) => span.spanContext().spanId).sort());
    assert.deepEqual(lockSpans.map((span) => span.attributes['offline_tokens.lock.acquired']), [true, true, true]);
    assert.equal(finished[1]!.attributes['offline_tokens.error_code'], 'ERR_SERVER_UNAVAILABLE');
    assert.equal(finished[1]!.status.code, 2, 'a failed refresh is an ERROR span');
    const keyHash = finished[0]!.attributes['offline_tokens.key_hash'];
    assert.match(String(keyHash), /^[0-9a-f]{16}$/);
    const exported = JSON.stringify(finished.map((span) => ({ attributes: span.attributes, status: span.status, events: span.events })));
    assert.ok(!exported.includes('user-otel'), 'the raw key is not in a span');
    for (const token of idp.issuedTokens) assert.ok(!exported.includes(token), 'a token is in a span');

    await reader.forceFlush();
    const scopeMetrics = metricExporter.getMetrics().at(-1)!.scopeMetrics.find((scope) => scope.scope.name === 'offline-tokens')!;
    const counter = scopeMetrics.metrics.find((metric) => metric.descriptor.name === 'offline_tokens.refreshes') as SumMetricData;
    const byOutcome = Object.fromEntries(counter.dataPoints.map((point) => [point.attributes['offline_tokens.outcome'], point.value]));
    assert.deepEqual(byOutcome, { refreshed: 1, failed: 1, reauth_required: 1 });
    const histogram = scopeMetrics.metrics.find((metric) => metric.descriptor.name === 'offline_tokens.refresh.duration') as HistogramMetricData;
    assert.equal(histogram.descriptor.unit, 's');
    assert.equal(histogram.dataPoints.reduce((sum, point) => sum + point.value.count, 0), 3);
  });

  it('counts attempts at the token endpoint, retries included', async () => {
    spans.reset();
    const clock = createClock();
    const tokens = await createTokenManager(managerOptions(idp, 'post', { now: clock.now, maxRetries: 2 }));
    try {
      await connect(tokens, idp, 'user-otel-retry');
      idp.faults.push({ kind: 'respond', status: 503, body: 'busy' }, { kind: 'respond', status: 503, body: 'busy' });
      await tokens.getAccessToken('user-otel-retry', { forceRefresh: true });
    } finally {
      await tokens.close();
    }
    const [refresh] = spans.getFinishedSpans().filter((span) => span.name === 'offline_tokens.refresh');
    assert.equal(refresh!.attributes['offline_tokens.outcome'], 'refreshed');
    assert.equal(refresh!.attributes['offline_tokens.attempts'], 3);
  });

  it('traces the lock wait of a refresh, as a child span', async () => {
    spans.reset();
    const lock = createInProcessLock();
    const tokens = await createTokenManager(managerOptions(idp, 'post', { lock }));
    let endedWhileHeld = true;
    try {
      await connect(tokens, idp, 'user-otel-lock');
      // Another holder of the grant's lock (as another process would be): the refresh waits for it.
      let refresh!: Promise<string>;
      await lock.withLock(`${TEST_NAMESPACE}:user-otel-lock`, async () => {
        refresh = tokens.getAccessToken('user-otel-lock', { forceRefresh: true });
        await new Promise((resolve) => setTimeout(resolve, 100));
        endedWhileHeld = spans.getFinishedSpans().some((span) => span.name === 'offline_tokens.lock.acquire');
      });
      await refresh;
    } finally {
      await tokens.close();
    }
    const [refreshSpan] = spans.getFinishedSpans().filter((span) => span.name === 'offline_tokens.refresh');
    const lockSpan = spans.getFinishedSpans().find((span) => span.name === 'offline_tokens.lock.acquire')!;
    assert.equal(parentOf(lockSpan), refreshSpan!.spanContext().spanId);
    assert.equal(lockSpan.attributes['offline_tokens.lock.acquired'], true);
    assert.equal(endedWhileHeld, false, 'the lock span lasts while the other holder has the lock');
    const waitedMs = lockSpan.attributes['offline_tokens.lock_wait_ms'];
    assert.ok(typeof waitedMs === 'number' && waitedMs >= 0);
    assert.equal(refreshSpan!.attributes['offline_tokens.lock_wait_ms'], waitedMs);
    assert.equal(refreshSpan!.attributes['offline_tokens.outcome'], 'refreshed');
  });

  it('traces consents, completed and failed, without the raw key', async () => {
    spans.reset();
    const tokens = await createTokenManager(managerOptions(idp, 'post'));
    try {
      await connect(tokens, idp, 'user-otel-consent');
      const { url } = await tokens.startAuthorization({ key: 'user-otel-consent' });
      await rejection(tokens.completeAuthorization(await idp.consent(url), { state: 'another-browser' }));
    } finally {
      await tokens.close();
    }
    const consents = spans.getFinishedSpans().filter((span) => span.name === 'offline_tokens.authorization.complete');
    assert.deepEqual(consents.map((span) => span.attributes['offline_tokens.outcome']), ['completed', 'failed']);
    assert.match(String(consents[0]!.attributes['offline_tokens.key_hash']), /^[0-9a-f]{16}$/);
    assert.equal(consents[1]!.attributes['offline_tokens.error_code'], 'ERR_BAD_CALLBACK');
    assert.equal(consents[1]!.status.code, 2);
    assert.ok(!JSON.stringify(consents.map((span) => span.attributes)).includes('user-otel-consent'));
  });

  it('reports cache hits and misses and the cached grants by status, collected from plain counters', async () => {
    const before = await cacheMetrics();
    const clock = createClock();
    const tokens = await createTokenManager(managerOptions(idp, 'post', { now: clock.now }));
    try {
      await connect(tokens, idp, 'user-otel-cache-a');
      await connect(tokens, idp, 'user-otel-cache-b');
      for (let i = 0; i < 5; i++) await tokens.getAccessToken('user-otel-cache-a'); // hits (cached by the consent)
      await tokens.getToken('user-otel-cache-b'); // hit
      await tokens.getAccessToken('user-otel-cache-b', { signal: AbortSignal.timeout(60_000) }); // hit, through the slow path
      await tokens.getAccessToken('user-otel-cache-a', { forceRefresh: true }); // miss
      await rejection(tokens.getAccessToken('user-otel-unknown')); // miss
      const during = await cacheMetrics();
      assert.equal(during.hit - before.hit, 7);
      assert.equal(during.miss - before.miss, 2);
      assert.equal(during.grants.active, (before.grants.active ?? 0) + 2);
      assert.equal(during.grants.reauth_required, 0);
    } finally {
      await tokens.close();
    }
    // A closed manager's counts stay in the cumulative counter; its grants leave the gauge.
    const afterClose = await cacheMetrics();
    assert.equal(afterClose.hit - before.hit, 7);
    assert.equal(afterClose.grants.active, before.grants.active ?? 0);
  });

  async function cacheMetrics(): Promise<{ hit: number; miss: number; grants: Record<string, number> }> {
    await reader.forceFlush();
    const scopeMetrics = metricExporter.getMetrics().at(-1)!.scopeMetrics.find((scope) => scope.scope.name === 'offline-tokens')!;
    const requests = scopeMetrics.metrics.find((metric) => metric.descriptor.name === 'offline_tokens.cache.requests') as SumMetricData;
    const byResult = Object.fromEntries(requests.dataPoints.map((point) => [point.attributes['offline_tokens.cache.result'], point.value]));
    const gauge = scopeMetrics.metrics.find((metric) => metric.descriptor.name === 'offline_tokens.grants') as GaugeMetricData;
    const grants = Object.fromEntries(gauge.dataPoints.map((point) => [String(point.attributes['offline_tokens.grant.status']), point.value]));
    return { hit: byResult.hit ?? 0, miss: byResult.miss ?? 0, grants };
  }
});

function parentOf(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}

