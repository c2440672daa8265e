/**
 * `private_key_jwt`: the client authenticates with an assertion signed by its own private key instead
 * of a shared secret. Runs on this machine against the local test server, which knows the client's
 * public key only:  node --conditions=source examples/private-key-jwt.ts
 */
import Keyv from 'keyv';
import { createTokenManager } from 'offline-tokens';
import { startAuthorizationServer } from '../test/support/authorization-server.ts';

const idp = await startAuthorizationServer({ accessTokenTtlS: 2 });
const tokens = await createTokenManager({
  issuer: idp.issuer,
  clientId: idp.clients.privateKeyJwt.clientId,
  clientAuthMethod: 'private_key_jwt',
  // A private JWK (its `kid` is sent) or a CryptoKey with `clientPrivateKeyId`. In production: from your secret manager.
  clientPrivateKey: idp.clients.privateKeyJwt.privateJwk,
  redirectUri: idp.redirectUri,
  store: new Keyv(),
  refreshWindowMs: 1_000,
  allowInsecureRequests: true,
});
try {
  const { url, state } = await tokens.startAuthorization({ key: 'user-42' });
  await tokens.completeAuthorization(await idp.consent(url), { state }); // headless consent of the test server
  await tokens.getAccessToken('user-42');
  await new Promise((resolve) => setTimeout(resolve, 1_500)); // into the refresh window
  await tokens.getAccessToken('user-42');
  const { revokedAtServer } = await tokens.revoke('user-42');
  console.log(`code exchange, ${idp.counters.refreshSuccesses} refresh, introspection and revocation (${revokedAtServer ? 'confirmed' : 'not confirmed'}), all authenticated with private_key_jwt`);
} finally {
  await tokens.close();
  await idp.close();
}
