/**
 * `npm run demo`: the whole offline-access flow on this machine, with no IdP to set up.
 *
 * 1. Starts a local authorization server (oidc-provider, rotating refresh tokens on every use and
 *    revoking the grant if a used one comes back) on http://127.0.0.1:4010.
 * 2. Gets the user's consent without a browser (prints the URL; `npm run demo -- --browser` waits for
 *    you to open it instead), and stores the grant in `.demo/tokens.sqlite`.
 * 3. Runs a small job that calls `getAccessToken()` and the userinfo endpoint across several short
 *    access-token lifetimes, printing a line per rotation.
 * Run it again: it resumes from the stored grant, without a new login.
 *
 * `npm run demo -- --serve` only runs the authorization server, until Ctrl-C, for the CLI walkthrough
 * of the README (its `cli-loopback` client is registered for loopback redirects).
 * Environment: `DEMO_PORT` (4010), `DEMO_STATE_PATH` (`.demo/idp-state.json`, the server's grants).
 */
import { mkdirSync } from 'node:fs';
import { createTokenManager, ReauthRequiredError } from 'offline-tokens';
import { startAuthorizationServer } from '../test/support/authorization-server.ts';

const ACCESS_TOKEN_TTL_S = 3;
const LIFETIMES = 3.5;
const USER = 'demo-user';
const port = Number(process.env.DEMO_PORT ?? 4010);
const browser = process.argv.includes('--browser');

mkdirSync('.demo', { recursive: true });
const idp = await startAuthorizationServer({ port, accessTokenTtlS: ACCESS_TOKEN_TTL_S, statePath: process.env.DEMO_STATE_PATH ?? '.demo/idp-state.json', serveCallback: true });
console.log(`Authorization server: ${idp.issuer} (access tokens live ${ACCESS_TOKEN_TTL_S} s, refresh tokens rotate on every use)`);

if (process.argv.includes('--serve')) {
  console.log(`Serving until Ctrl-C. For the CLI:
  export OFFLINE_TOKENS_ISSUER=${idp.issuer} OFFLINE_TOKENS_CLIENT_ID=${idp.clients.loopback.clientId} OFFLINE_TOKENS_ALLOW_INSECURE_REQUESTS=1`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await idp.close();
  process.exit(0);
}

const tokens = await createTokenManager({
  issuer: idp.issuer,
  clientId: idp.clients.post.clientId,
  clientSecret: idp.clients.post.clientSecret,
  clientAuthMethod: 'client_secret_post',
  redirectUri: idp.redirectUri,
  scope: 'openid offline_access email',
  sqlitePath: '.demo/tokens.sqlite',
  refreshWindowMs: 1_000,
  allowInsecureRequests: true,
});

let rotations = 0;
tokens.on('refreshed', ({ rotations: total, expiresAt }) => {
  rotations++;
  console.log(`  rotation #${total}: new refresh token stored, new access token valid until ${new Date(expiresAt).toISOString()}`);
});
tokens.on('reauthRequired', ({ reason }) => console.log(`  the grant needs consent again (${reason})`));

try {
  const stored = await tokens.getGrant(USER);
  if (stored?.status === 'active') {
    console.log(`Resuming the stored grant of ${stored.subject} (${stored.rotations} rotations so far): no login needed.`);
  } else {
    const { url, state } = await tokens.startAuthorization({ key: USER });
    console.log(`Consent URL (open it in a browser with --browser):\n  ${url.href}`);
    const callback = browser ? await idp.nextCallback() : await idp.consent(url);
    const grant = await tokens.completeAuthorization(callback, { state, key: USER });
    console.log(`Consent complete for ${grant.subject}; grant stored in .demo/tokens.sqlite (scope: ${grant.scope}).`);
  }

  console.log(`Job: calling userinfo for ${LIFETIMES} access-token lifetimes...`);
  const endAt = Date.now() + LIFETIMES * ACCESS_TOKEN_TTL_S * 1_000;
  let calls = 0;
  while (Date.now() < endAt) {
    const accessToken = await tokens.getAccessToken(USER);
    const response = await fetch(`${idp.issuer}/me`, { headers: { authorization: `Bearer ${accessToken}` } });
    if (!response.ok) throw new Error(`userinfo answered HTTP ${response.status}`);
    const { email } = (await response.json()) as { email?: string };
    calls++;
    if (calls === 1) console.log(`  userinfo says: ${email}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const grant = await tokens.getGrant(USER);
  console.log(
    `Summary: ${calls} userinfo calls, all 200; ${rotations} rotations this run (${grant?.rotations} in all); `
    + `refresh requests at the server: ${idp.counters.refreshRequests}, refused: ${Object.values(idp.counters.refreshErrors).reduce((a, b) => a + b, 0)}, `
    + `refresh tokens presented twice: ${idp.counters.reusedRefreshTokens}. Run \`npm run demo\` again to resume without login.`,
  );
} catch (error) {
  if (error instanceof ReauthRequiredError) console.error(`The stored grant is dead (${error.reason}); delete .demo/ and run again.`);
  throw error;
} finally {
  await tokens.close();
  await idp.close();
}
