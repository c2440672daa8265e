/**
 * OpenTelemetry: spans and metrics of refreshes, read back with the SDK's in-memory exporters.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { metrics, trace } from '@opentelemetry/api';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type HistogramMetricData, type SumMetricData } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { createTokenManager } from 'offline-tokens';
import { startAuthorizationServer, type AuthorizationServer } from './support/authorization-server.ts';
import { connect, createClock, managerOptions, rejection } from './support/harness.ts';

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

    const finished = spans.getFinishedSpans();
    assert.deepEqual(finished.map((span) => span.name), ['offline_tokens.refresh', 'offline_tokens.refresh', 'offline_tokens.refresh']);
    assert.deepEqual(finished.map((span) => span.attributes['offline_tokens.outcome']), ['refreshed', 'failed', 'reauth_required']);
    assert.equal(finished[0]!.attributes['offline_tokens.rotations'], 1);
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
});
