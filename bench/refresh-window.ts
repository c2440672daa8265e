/**
 * Callers during the refresh window: the token is still valid but due for refresh, and a refresh is
 * in flight (held at the token endpoint for REFRESH_DELAY_MS). Counted: callers whose promise
 * settled only after the refresh completed (they waited for it), and the callers' p99 latency.
 * @module
 */
import { fireCallers, type Burst } from './callers.ts';
import { createGoogleClient, withPeerScenario } from './fixtures.ts';
import { percentile } from './measure.ts';
import { verdict, type Row, type Section, type SectionContext } from './section.ts';

/** How long the token endpoint holds the refresh, so every caller arrives while it is in flight. */
const REFRESH_DELAY_MS = 200;
/** Callers per event-loop turn: requests arriving over time rather than in one synchronous loop. */
const BATCH_SIZE = 100;
/** Where in the window the clock is put: this long before the access token expires. */
const BEFORE_EXPIRY_MS = 10_000;
/** google-auth-library refreshes from 5 minutes before expiry (`eagerRefreshThresholdMillis`). */
const GOOGLE_EXPIRES_IN_MS = 60_000;

/** The refresh-window section. */
export const refreshWindow: Section = {
  id: 'refresh-window',
  title: 'Callers during the refresh window',
  run: runRefreshWindow,
};

async function runRefreshWindow(context: SectionContext): Promise<Row[]> {
  return withPeerScenario(async ({ idp, clock, tokens, key: KEY, grant, before, peer }) => {
    const callers = context.callers;
    const burstOptions = { callers, batchSize: BATCH_SIZE };

    // Baseline: the same burst on a fresh token (no refresh due).
    const fresh = await fireCallers(() => tokens.getAccessToken(KEY), burstOptions);

    // offline-tokens: inside the window, before expiry; the first caller starts the background refresh.
    clock.nowMs = grant.expiresAt - BEFORE_EXPIRY_MS;
    idp.resetCounters();
    idp.faults.push({ kind: 'delay', ms: REFRESH_DELAY_MS });
    let sdkDoneNs: bigint | undefined;
    const refreshed = new Promise<void>((resolve, reject) => {
      tokens.on('refreshed', () => {
        sdkDoneNs ??= process.hrtime.bigint();
        resolve();
      });
      tokens.on('refreshFailed', ({ error }) => reject(error));
    });
    refreshed.catch(() => {}); // awaited below, after the burst
    const sdkStartNs = process.hrtime.bigint();
    const sdk = await fireCallers(() => tokens.getAccessToken(KEY), { ...burstOptions, doneAtNs: () => sdkDoneNs });
    await refreshed;
    const sdkRefreshMs = Number(sdkDoneNs! - sdkStartNs) / 1e6;
    const sdkRequests = idp.counters.refreshRequests;
    const after = await tokens.getAccessToken(KEY);
    if (after === before) context.note('refresh window: the token was not replaced after the background refresh.');

    // google-auth-library: valid token inside its 5-minute early window, same delay at the server.
    const google = createGoogleClient(idp, { accessToken: peer.accessToken, refreshToken: peer.refreshToken, expiryDateMs: Date.now() + GOOGLE_EXPIRES_IN_MS });
    idp.resetCounters();
    idp.faults.push({ kind: 'delay', ms: REFRESH_DELAY_MS });
    let googleDoneNs: bigint | undefined;
    google.on('tokens', () => {
      googleDoneNs ??= process.hrtime.bigint();
    });
    const googleStartNs = process.hrtime.bigint();
    const peerBurst = await fireCallers(async () => (await google.getAccessToken()).token, { ...burstOptions, doneAtNs: () => googleDoneNs });
    const googleRefreshMs = googleDoneNs === undefined ? Number.NaN : Number(googleDoneNs - googleStartNs) / 1e6;
    const googleRequests = idp.counters.refreshRequests;

    const freshP99Ms = percentile(fresh.latenciesMs, 99);
    const sdkP99Ms = percentile(sdk.latenciesMs, 99);
    const n = callers.toLocaleString('en-US');
    return [
      {
        case: `offline-tokens: of ${n} callers during an in-flight refresh, waited for it`,
        value: sdk.settledAfterDone,
        unit: 'count',
        target: '= 0',
        verdict: verdict(sdk.settledAfterDone === 0 && sdk.firedBeforeDone === callers),
        detail: describe(sdk, sdkRequests, sdkRefreshMs),
      },
      {
        case: 'offline-tokens: p99 caller latency during the refresh',
        value: sdkP99Ms,
        unit: 'ms',
        detail: latencyDetail(sdk, sdkRefreshMs, freshP99Ms),
      },
      {
        case: `google-auth-library: of ${n} callers during an in-flight refresh, waited for it`,
        value: peerBurst.settledAfterDone,
        unit: 'count',
        detail: describe(peerBurst, googleRequests, googleRefreshMs),
      },
      {
        case: 'google-auth-library: p99 caller latency during the refresh',
        value: percentile(peerBurst.latenciesMs, 99),
        unit: 'ms',
        detail: latencyDetail(peerBurst, googleRefreshMs, undefined),
      },
    ];
  });
}

function latencyDetail(burst: Burst, refreshMs: number, freshP99Ms: number | undefined): string {
  const p99Ms = percentile(burst.latenciesMs, 99);
  const parts = [`p50 ${percentile(burst.latenciesMs, 50).toFixed(3)} ms`, `p99 = ${((p99Ms / refreshMs) * 100).toFixed(1)}% of the refresh's ${refreshMs.toFixed(0)} ms`];
  if (freshP99Ms !== undefined) parts.push(`same burst on a fresh token: p99 ${freshP99Ms.toFixed(3)} ms`);
  return parts.join('; ');
}

function describe(burst: Burst, refreshRequests: number, refreshMs: number): string {
  return `${burst.firedBeforeDone.toLocaleString('en-US')} fired while the refresh was in flight, ${burst.rejected} rejected; `
    + `${refreshRequests} refresh request(s); refresh completed ${refreshMs.toFixed(0)} ms after the first caller (server held it ${REFRESH_DELAY_MS} ms)`;
}
