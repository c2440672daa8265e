/**
 * `private_key_jwt` client authentication (RFC 7523) against the real authorization server: a
 * client registered with its public JWKS only, authenticating every token, introspection and
 * revocation request with an assertion signed by its private key (a JWK or a CryptoKey).
 */
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import Keyv from 'keyv';
import { CallbackError, ConfigurationError, ReauthRequiredError, createTokenManager } from 'offline-tokens';
import { startAuthorizationServer, type AuthorizationServer } from './support/authorization-server.ts';
import { connect, grantKey, managerOptions, rejection, withManager } from './support/harness.ts';

const HOUR_MS = 3_600_000;

describe('private_key_jwt', () => {
  let idp: AuthorizationServer;
  before(async () => {
    idp = await startAuthorizationServer();
  });
  after(() => idp.close());

  it('consents, rotates, survives an ambiguous failure through introspection, and revokes', async () => {
    const store = new Keyv();
    await withManager({ idp, client: 'private_key_jwt', connect: 'jwt-user', options: { store, requestTimeoutMs: 1_000 } }, async (tokens, clock) => {
      assert.equal(idp.counters.codeExchanges, 1);
      assert.equal(idp.counters.introspections, 1, 'the consent probed introspection, authenticated by the assertion');
      const first = await tokens.getAccessToken('jwt-user');
      idp.resetCounters();
      for (let rotation = 1; rotation <= 3; rotation++) {
        clock.advance(HOUR_MS);
        assert.notEqual(await tokens.getAccessToken('jwt-user'), first);
        assert.equal((await tokens.getGrant('jwt-user'))?.rotations, rotation);
      }
      assert.equal(idp.counters.refreshSuccesses, 3);

      // A 500 may have reached the server: introspection (with the assertion) says the token is still
      // active, so it is sent again, once.
      clock.advance(HOUR_MS);
      idp.resetCounters();
      idp.faults.push({ kind: 'respond', status: 500, body: '{"error":"server_error"}' });
      assert.ok(await tokens.getAccessToken('jwt-user'));
      assert.equal(idp.counters.introspections, 1);
      assert.equal(idp.counters.refreshSuccesses, 1);
      assert.equal(idp.counters.reusedRefreshTokens, 0);

      const { refreshToken } = JSON.parse((await store.get(grantKey('jwt-user'))) as string) as { refreshToken: string };
      assert.equal(idp.refreshTokenState(refreshToken), 'active');
      const { revokedAtServer } = await tokens.revoke('jwt-user');
      assert.equal(revokedAtServer, true);
      assert.equal(idp.refreshTokenState(refreshToken), 'unknown', 'the server forgot the refresh token');
    });
  });

  it('processed, response lost: introspection with the assertion confirms the loss, no reuse', async () => {
    await withManager({ idp, client: 'private_key_jwt', connect: 'jwt-lost', options: { requestTimeoutMs: 1_000 } }, async (tokens, clock) => {
      clock.advance(HOUR_MS);
      idp.resetCounters();
      idp.faults.push({ kind: 'drop-after' });
      const error = await rejection(tokens.getAccessToken('jwt-lost'));
      assert.ok(error instanceof ReauthRequiredError && error.reason === 'rotation_lost', `got ${error}`);
      assert.ok(idp.counters.introspections >= 1);
      assert.equal(idp.counters.reusedRefreshTokens, 0);
    });
  });

  it('takes the key as a CryptoKey with a `kid` option', async () => {
    const { privateJwk } = idp.clients.privateKeyJwt;
    const cryptoKey = createPrivateKey({ key: privateJwk, format: 'jwk' }).toCryptoKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']) as CryptoKey;
    const options = { clientPrivateKey: cryptoKey, clientPrivateKeyId: privateJwk.kid };
    await withManager({ idp, client: 'private_key_jwt', connect: 'jwt-cryptokey', options }, async (tokens, clock) => {
      clock.advance(HOUR_MS);
      assert.ok(await tokens.getAccessToken('jwt-cryptokey'));
      assert.equal((await tokens.getGrant('jwt-cryptokey'))?.rotations, 1);
    });
  });

  it('a key the server does not know is refused at the code exchange (invalid_client)', async () => {
    const { privateKey } = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
    await withManager({ idp, client: 'private_key_jwt', options: { clientPrivateKey: privateKey, clientPrivateKeyId: 'client-key-1' } }, async (tokens) => {
      const error = await rejection(connect(tokens, idp, 'jwt-wrong-key'));
      assert.ok(error instanceof CallbackError && error.reason === 'exchange_failed', `got ${error}`);
      assert.equal((error.cause as { error?: string } | undefined)?.error, 'invalid_client');
    });
  });

  it('validates the options at creation, naming the option, never quoting the key', async () => {
    const base = managerOptions(idp, 'private_key_jwt');
    const { d } = idp.clients.privateKeyJwt.privateJwk;
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ clientPrivateKey: undefined }, /`clientPrivateKey` to be set/],
      [{ clientPrivateKey: { kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' } }, /`clientPrivateKey` to be a private JWK/],
      [{ clientPrivateKey: { kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA', d } }, /`clientPrivateKey` to be a valid private key for ES256/],
      [{ clientPrivateKey: { kty: 'oct', k: 'AAAA', d } }, /`clientPrivateKey` to be an RSA, EC/],
      [{ clientPrivateKey: { ...idp.clients.privateKeyJwt.privateJwk, alg: 'HS256' } }, /`clientPrivateKey.alg` to be one of/],
      [{ clientPrivateKey: (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify'])).publicKey }, /private CryptoKey/],
      [{ clientAuthMethod: 'client_secret_post', clientSecret: 'x'.repeat(32) }, /only with `clientAuthMethod` 'private_key_jwt'/],
    ];
    for (const [extra, message] of cases) {
      const error = await rejection(createTokenManager({ ...base, ...extra } as never));
      assert.ok(error instanceof ConfigurationError, `got ${error}`);
      assert.match(error.message, message);
      assert.ok(!error.message.includes(d!) && !String(error.stack).includes(d!));
    }
  });
});
