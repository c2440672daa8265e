/**
 * One grant, several APIs (RFC 8707 resource indicators) and narrower scopes: a token per resource
 * (its `aud` is the resource) and per scope, each got by a refresh of the one grant, cached per
 * (key, resource, scope); `tokens.fetch` makes the API call with the right token. Runs on this
 * machine against the local test server:  node --conditions=source examples/resources.ts
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Keyv from 'keyv';
import { createTokenManager } from 'offline-tokens';
import { startAuthorizationServer } from '../test/support/authorization-server.ts';

const ORDERS = 'https://api.example/orders';
const BILLING = 'https://api.example/billing';

/** A stand-in API that answers with the audience and scope of the token it was sent (it trusts the test server). */
const api = createServer((req, res) => {
  const token = (req.headers.authorization ?? '').split(' ')[1] ?? '';
  const { aud, scope } = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8') || '{}') as { aud?: string; scope?: string };
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ aud, scope }));
});
await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
const apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;

const idp = await startAuthorizationServer();
const tokens = await createTokenManager({
  issuer: idp.issuer,
  clientId: idp.clients.post.clientId,
  clientSecret: idp.clients.post.clientSecret,
  redirectUri: idp.redirectUri,
  store: new Keyv(),
  allowInsecureRequests: true,
});
try {
  // Consent once for both APIs (servers such as oidc-provider issue tokens only for consented resources).
  const { url, state } = await tokens.startAuthorization({ key: 'user-42', scope: 'email api:read', resource: [ORDERS, BILLING] });
  await tokens.completeAuthorization(await idp.consent(url), { state });

  // A token per API: each is a refresh of the one grant (one rotation at a time), then cached.
  const orders = await (await tokens.fetch('user-42', `${apiUrl}/orders`, undefined, { resource: ORDERS })).json();
  const billing = await (await tokens.fetch('user-42', `${apiUrl}/invoices`, undefined, { resource: BILLING })).json();
  console.log('orders API saw a token for', orders, '; billing API saw', billing);

  // A narrower scope than the consent (down-scoping): its own token, cached per (key, scope).
  const narrow = await tokens.getToken('user-42', { scope: 'openid email' });
  console.log(`down-scoped token: scope "${narrow.scope}" (consented: "${(await tokens.getGrant('user-42'))?.scope}")`);

  // Cached: no refresh for the same (resource, scope) again.
  await tokens.getAccessToken('user-42', { resource: ORDERS });
  console.log(`${idp.counters.refreshSuccesses} refreshes, ${(await tokens.getGrant('user-42'))?.rotations} rotations, ${idp.counters.reusedRefreshTokens} reused refresh tokens`);
} finally {
  await tokens.close();
  await idp.close();
  api.close();
}
