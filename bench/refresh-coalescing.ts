/**
 * Refresh coalescing: many concurrent callers in one process when the access token has expired.
 * Counted at the authorization server: how many refresh requests reached it.
 * @module
 */
import { fireCallers } from './callers.ts';
import { createGoogleClient, withPeerScenario } from './fixtures.ts';
import { verdict, type Row, type Section, type SectionContext } from './section.ts';

/** The refresh-coalescing section. */
export const refreshCoalescing: Section = {
  id: 'refresh-coalescing',
  title: 'Refresh coalescing at expiry',
  run: runRefreshCoalescing,
};

async function runRefreshCoalescing(context: SectionContext): Promise<Row[]> {
  return withPeerScenario(async ({ idp, clock, tokens, key: KEY, grant, before, peer }) => {
    const callers = context.callers;

    // offline-tokens: jump past expiry, then every caller at once (one synchronous loop).
    clock.nowMs = grant.expiresAt + 1_000;
    idp.resetCounters();
    const sdk = await fireCallers(() => tokens.getAccessToken(KEY), { callers, batchSize: callers });
    const sdkRequests = idp.counters.refreshRequests;
    const sdkNew = sdk.values.filter((value) => value !== before).length;
    const sdkDistinct = new Set(sdk.values).size;

    // google-auth-library, same burst with an expired token (its clock is the real one).
    const google = createGoogleClient(idp, { accessToken: peer.accessToken, refreshToken: peer.refreshToken, expiryDateMs: Date.now() - 1_000 });
    idp.resetCounters();
    const peerBurst = await fireCallers(async () => (await google.getAccessToken()).token, { callers, batchSize: callers });
    const googleRequests = idp.counters.refreshRequests;
    const googleDistinct = new Set(peerBurst.values).size;

    return [
      {
        case: `offline-tokens: refresh requests at the server for ${callers.toLocaleString('en-US')} concurrent callers`,
        value: sdkRequests,
        unit: 'count',
        target: '= 1',
        verdict: verdict(sdkRequests === 1),
        detail: `${sdkNew.toLocaleString('en-US')} callers got the new token, ${sdk.rejected} rejected, ${sdkDistinct} distinct token(s) handed out`,
      },
      {
        case: `google-auth-library: refresh requests at the server for ${callers.toLocaleString('en-US')} concurrent callers`,
        value: googleRequests,
        unit: 'count',
        detail: `${peerBurst.values.length.toLocaleString('en-US')} callers got a token, ${peerBurst.rejected} rejected, ${googleDistinct} distinct token(s) handed out`,
      },
    ];
  });
}
