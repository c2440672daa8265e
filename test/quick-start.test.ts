/**
 * `examples/quick-start.ts` on an ephemeral port against the test authorization server: a real
 * consent through it works, and forged, replayed, cross-browser and malformed callbacks get an HTTP
 * answer while the server keeps serving.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createTokenManager, type TokenManager } from 'offline-tokens';
import { createQuickStartHandler } from '../examples/quick-start.ts';
import { startAuthorizationServer, type AuthorizationServer } from './support/authorization-server.ts';
import { managerOptions } from './support/harness.ts';

describe('examples/quick-start.ts never crashes on bad input', () => {
  let idp: AuthorizationServer;
  let tokens: TokenManager;
  let server: Server;
  let app: string;
  before(async () => {
    idp = await startAuthorizationServer();
    tokens = await createTokenManager(managerOptions(idp, 'post'));
    server = createServer(createQuickStartHandler({
      tokens,
      redirectUri: idp.redirectUri,
      cookieSecret: randomBytes(32),
      currentUser: (req) => (req.headers['x-user'] as string | undefined) ?? 'user-42',
    }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    app = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await tokens.close();
    await idp.close();
  });

  /** Starts a consent as a browser: the consent URL and the browser's cookie. */
  async function connect(user = 'user-42'): Promise<{ consentUrl: string; cookie: string }> {
    const response = await fetch(`${app}/connect`, { redirect: 'manual', headers: { 'x-user': user } });
    assert.equal(response.status, 302);
    const cookie = response.headers.getSetCookie()[0]!.split(';')[0]!;
    assert.match(response.headers.getSetCookie()[0]!, /HttpOnly; SameSite=Lax/);
    return { consentUrl: response.headers.get('location')!, cookie };
  }

  /** Brings a callback (from the provider) to the app, as the browser would. */
  async function callback(providerCallback: URL | string, headers: Record<string, string> = {}): Promise<number> {
    const url = new URL(providerCallback);
    const response = await fetch(`${app}${url.pathname}${url.search}`, { headers });
    await response.text();
    return response.status;
  }

  it('completes a real consent, then refuses forged, replayed, cross-browser and malformed callbacks, and keeps serving', async () => {
    const browser = await connect();
    const providerCallback = await idp.consent(browser.consentUrl);
    assert.equal(await callback(providerCallback, { cookie: browser.cookie }), 200);
    assert.equal((await tokens.getGrant('user-42'))?.status, 'active');

    const path = new URL(idp.redirectUri).pathname;
    const attacker = await connect('attacker');
    const attackerCallback = await idp.consent(attacker.consentUrl);
    const other = await connect();
    const statuses = [
      await callback(providerCallback, { cookie: browser.cookie }), // replayed
      await callback(`${app}${path}?code=a&state=b`), // forged, no cookie
      await callback(`${app}${path}?code=a&state=b`, { cookie: browser.cookie }), // forged state
      await callback(attackerCallback, { cookie: other.cookie }), // login CSRF: attacker's consent in the victim's browser
      await callback(attackerCallback, { cookie: attacker.cookie, 'x-user': 'victim' }), // account linking
      await callback(`${app}${path}?state=a&state=b`, { cookie: other.cookie }), // repeated parameter
      await callback(`${app}${path}?code=${'a'.repeat(10_000)}`, { cookie: other.cookie }), // too long
      await callback(`${app}${path}?error=access_denied&state=b`, { cookie: `consent_state=b.forged` }), // bad signature
      await callback(`${app}${path}?%zz=1&state=%`, { cookie: 'consent_state=%%%; x' }),
      await callback(`${app}/nowhere`),
    ];
    for (const status of statuses) assert.ok(status >= 400 && status < 500, `an HTTP error answer, got ${statuses.join(', ')}`);
    assert.equal(await tokens.getGrant('attacker'), undefined, 'the attacker got no grant');
    assert.equal(await tokens.getGrant('victim'), undefined);

    // Still serving: the consent started before the bad callbacks completes.
    assert.equal(await callback(await idp.consent(other.consentUrl), { cookie: other.cookie }), 200);
  });
});
