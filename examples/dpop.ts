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

  const api = `${idp.issuer}/me`;
  const accessToken = await tokens.getAccessToken('user-42');
  const call = async (nonce?: string): Promise<Response> => fetch(api, {
    headers: { authorization: `DPoP ${accessToken}`, dpop: await tokens.dpopProof('user-42', { method: 'GET', url: api, accessToken, nonce }) },
  });
  let response = await call();
  // A resource server may ask for a nonce: answer once with it.
  if (response.status === 401 && response.headers.has('dpop-nonce')) response = await call(response.headers.get('dpop-nonce')!);
  const bearer = await fetch(api, { headers: { authorization: `Bearer ${accessToken}` } });
  console.log(`with the proof: HTTP ${response.status}; the same token as a bearer token: HTTP ${bearer.status}`);
} finally {
  await tokens.close();
  await idp.close();
}
