import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CallbackError, ConfigurationError, createTokenManager, type TokenManager } from 'offline-tokens';
import { startAuthorizationServer, type AuthorizationServer } from './support/authorization-server.ts';
import { managerOptions, rejection } from './support/harness.ts';

describe('callback validation', () => {
  let idp: AuthorizationServer;
  let tokens: TokenManager;
  before(async () => {
    idp = await startAuthorizationServer();
    tokens = await createTokenManager(managerOptions(idp, 'post'));
  });
  after(async () => {
    await tokens.close();
    await idp.close();
  });

  async function callbackError(url: string | URL): Promise<CallbackError> {
    const error = await rejection(tokens.completeAuthorization(url));
    assert.ok(error instanceof CallbackError, `expected CallbackError, got ${error}`);
    assert.equal(error.code, 'ERR_BAD_CALLBACK');
    return error;
  }

  it('refuses an unknown state', async () => {
    const { url } = await tokens.startAuthorization({ key: 'u' });
    const callback = await idp.consent(url);
    callback.searchParams.set('state', 'not-the-state');
    assert.equal((await callbackError(callback)).reason, 'unknown_state');
  });

  it('refuses a replayed state (single use) and stores the grant only once', async () => {
    const { url } = await tokens.startAuthorization({ key: 'replay' });
    const callback = await idp.consent(url);
    await tokens.completeAuthorization(callback);
    assert.equal((await callbackError(callback)).reason, 'unknown_state');
  });

  it('reports a denied consent as access_denied and consumes the state', async () => {
    const { url } = await tokens.startAuthorization({ key: 'denied' });
    const callback = await idp.consent(url, { deny: true });
    assert.equal(callback.searchParams.get('error'), 'access_denied');
    const error = await callbackError(callback);
    assert.equal(error.reason, 'access_denied');
    assert.equal(error.error, 'access_denied');
    assert.equal(await tokens.getGrant('denied'), undefined);
    assert.equal((await callbackError(callback)).reason, 'unknown_state');
  });

  it('refuses a callback without code, without state, with a wrong issuer, or repeated parameters', async () => {
    const { url, state } = await tokens.startAuthorization({ key: 'nocode' });
    const callback = await idp.consent(url);
    const noCode = new URL(callback);
    noCode.searchParams.delete('code');
    assert.equal((await callbackError(noCode)).reason, 'missing_code');

    const noState = new URL(callback);
    noState.searchParams.delete('state');
    assert.equal((await callbackError(noState)).reason, 'missing_state');

    const { url: url2 } = await tokens.startAuthorization({ key: 'wrong-iss' });
    const wrongIss = await idp.consent(url2);
    wrongIss.searchParams.set('iss', 'https://evil.example.com');
    assert.equal((await callbackError(wrongIss)).reason, 'issuer_mismatch');

    assert.equal((await callbackError(`${callback.href}&state=${state}`)).reason, 'malformed');
    assert.equal((await callbackError('not a url')).reason, 'malformed');
    assert.equal((await callbackError(`${idp.redirectUri}?code=${'a'.repeat(10_000)}&state=x`)).reason, 'malformed');
  });

  it('accepts the callback as a string', async () => {
    const { url } = await tokens.startAuthorization({ key: 'as-string' });
    const grant = await tokens.completeAuthorization((await idp.consent(url)).href);
    assert.equal(grant.key, 'as-string');
  });

  it('completes the callback in another manager (another process) sharing the store', async () => {
    const options = managerOptions(idp, 'post');
    const first = await createTokenManager(options);
    const second = await createTokenManager({ ...options });
    try {
      const { url } = await first.startAuthorization({ key: 'elsewhere' });
      const grant = await second.completeAuthorization(await idp.consent(url));
      assert.equal(grant.key, 'elsewhere');
      assert.ok(await first.getAccessToken('elsewhere'));
    } finally {
      await first.close();
      await second.close();
    }
  });
});

describe('options validation', () => {
  const valid = { issuer: 'https://idp.example.com', clientId: 'app', redirectUri: 'https://app.example.com/cb' };
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['missing issuer', { issuer: undefined }, /`issuer`/],
    ['http issuer', { issuer: 'http://idp.example.com' }, /allowInsecureRequests/],
    ['empty clientId', { clientId: '' }, /`clientId`/],
    ['bad redirectUri', { redirectUri: '/relative' }, /`redirectUri`/],
    ['negative window', { refreshWindowMs: -1 }, /`refreshWindowMs`/],
    ['string window', { refreshWindowMs: '60' }, /`refreshWindowMs`/],
    ['unknown auth method', { clientAuthMethod: 'private_key_jwt', clientSecret: 's' }, /`clientAuthMethod`/],
    ['post without secret', { clientAuthMethod: 'client_secret_post' }, /`clientSecret`/],
    ['store not keyv', { store: {} }, /`store`/],
    ['lock without withLock', { lock: {} }, /`lock`/],
    ['now not a function', { now: 5 }, /`now`/],
  ];
  for (const [name, change, message] of cases) {
    it(`rejects ${name} with ConfigurationError naming the option`, async () => {
      const error = await rejection(createTokenManager({ ...valid, ...change } as never));
      assert.ok(error instanceof ConfigurationError, `got ${error}`);
      assert.equal(error.code, 'ERR_INVALID_OPTIONS');
      assert.match(error.message, message);
    });
  }
});
