/**
 * DPoP: access tokens bound to a key pair the grant keeps, so a stolen token (or a stolen store dump,
 * with `encryption`) is useless without the key. Runs on this machine against the local test server,
 * whose userinfo endpoint checks the proof:  node --conditions=source examples/dpop.ts
 */
import Keyv from 'keyv';
import { createTokenManager } from 'offline-tokens';
import { startAuthorizationServer } from '../test/support/authorization-server.ts';

const idp = await startAuthorizationServer({ dpopNonce: true });
const tokens = await createTokenManager({
  issuer: idp.issuer,
  clientId: idp.clients.post.clientId,
  clientSecret: idp.clients.post.clientSecret,
  redirectUri: idp.redirectUri,
  dpop: true, // or { algorithm: 'EdDSA' }
  store: new Keyv(),
  allowInsecureRequests: true,
});
try {
  const { url, state } = await tokens.startAuthorization({ key: 'user-42' });
  await tokens.completeAuthorization(await idp.consent(url), { state }); // the grant's key pair is made and stored here

  // The whole call: Authorization: DPoP <token>, a proof bound to this method, URL and token, and one
  // retry with the resource server's nonce when it asks for one (this one always does at first).
  const api = `${idp.issuer}/me`;
  const response = await tokens.fetch('user-42', api);
  const again = await tokens.fetch('user-42', api, { method: 'GET' }); // the nonce is remembered: no challenge
  // The same token without its key is worth nothing.
  const accessToken = await tokens.getAccessToken('user-42');
  const bearer = await fetch(api, { headers: { authorization: `Bearer ${accessToken}` } });
  console.log(`tokens.fetch: HTTP ${response.status}, then HTTP ${again.status} (${idp.counters.resourceNonceChallenges} nonce challenge); the same token as a bearer token: HTTP ${bearer.status}`);
} finally {
  await tokens.close();
  await idp.close();
}
