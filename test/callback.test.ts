import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Keyv from 'keyv';
import { CallbackError, ConfigurationError, createTokenManager, type TokenManager } from 'offline-tokens';
import { startAuthorizationServer, type AuthorizationServer } from './support/authorization-server.ts';
import { managerOptions, rejection, withManager } from './support/harness.ts';

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

  async function callbackError(url: string | URL, binding: { state?: string; key?: string } = { state: new URL(url, 'http://x').searchParams.get('state') ?? 'none' }): Promise<CallbackError> {
    const error = await rejection(tokens.completeAuthorization(url, binding));
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

  it('requires the callback to be bound to a browser: `state` or `key`', async () => {
    const { url } = await tokens.startAuthorization({ key: 'unbound' });
    const callback = await idp.consent(url);
    for (const binding of [{}, { state: '' }, { key: '' }, undefined]) {
      const error = await rejection(tokens.completeAuthorization(callback, binding as never));
      assert.ok(error instanceof ConfigurationError, `got ${error}`);
    }
    assert.ok(await tokens.completeAuthorization(callback, { key: 'unbound' }), 'the consent was not consumed by the refused calls');
  });

  it('login CSRF: a consent started by an attacker, completed in the victim\'s browser, is refused (state_mismatch), nothing stored', async () => {
    const attacker = await tokens.startAuthorization({ key: 'attacker' });
    const victim = await tokens.startAuthorization({ key: 'victim' });
    const callback = await idp.consent(attacker.url); // the victim consents on the attacker's link
    const before = idp.counters.codeExchanges;
    const error = await callbackError(callback, { state: victim.state });
    assert.equal(error.reason, 'state_mismatch');
    assert.equal(idp.counters.codeExchanges, before, 'the code was not exchanged');
    assert.equal(await tokens.getGrant('attacker'), undefined);
    assert.equal(await tokens.getGrant('victim'), undefined);
  });

  it('account linking: a consent started for another key than the logged-in user is refused (key_mismatch), nothing stored', async () => {
    const attacker = await tokens.startAuthorization({ key: 'attacker-2' });
    const callback = await idp.consent(attacker.url);
    const before = idp.counters.codeExchanges;
    assert.equal((await callbackError(callback, { key: 'victim-2' })).reason, 'key_mismatch');
    assert.equal(idp.counters.codeExchanges, before, 'the code was not exchanged');
    assert.equal(await tokens.getGrant('attacker-2'), undefined);
    assert.equal(await tokens.getGrant('victim-2'), undefined);
    assert.equal((await callbackError(callback, { key: 'attacker-2' })).reason, 'unknown_state', 'the refused consent is used up');
  });

  it('refuses a callback on another origin or path than redirectUri (redirect_mismatch) before anything else', async () => {
    const { url, state } = await tokens.startAuthorization({ key: 'elsewhere-origin' });
    const callback = await idp.consent(url);
    const before = idp.counters.codeExchanges;
    for (const base of ['https://evil.example.com/callback', `${new URL(idp.redirectUri).origin}/other`]) {
      const moved = new URL(base);
      moved.search = callback.search;
      assert.equal((await callbackError(moved, { state })).reason, 'redirect_mismatch');
    }
    assert.equal((await callbackError('https://evil.example.com/callback?state=x', { state: 'x' })).reason, 'redirect_mismatch');
    assert.equal(idp.counters.codeExchanges, before);
    assert.ok(await tokens.completeAuthorization(callback, { state }), 'the pending consent was left untouched');
  });

  it('refuses a replayed state (single use) and stores the grant only once', async () => {
    const { url } = await tokens.startAuthorization({ key: 'replay' });
    const callback = await idp.consent(url);
    await tokens.completeAuthorization(callback, { key: 'replay' });
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
    const { url, state } = await tokens.startAuthorization({ key: 'as-string' });
    const grant = await tokens.completeAuthorization((await idp.consent(url)).href, { state });
    assert.equal(grant.key, 'as-string');
  });

  it('completes the callback in another manager (another process) sharing the store', async () => {
    const store = new Keyv();
    await withManager({ idp, options: { store } }, async (first) => {
      await withManager({ idp, options: { store } }, async (second) => {
        const { url, state } = await first.startAuthorization({ key: 'elsewhere' });
        const grant = await second.completeAuthorization(await idp.consent(url), { state });
        assert.equal(grant.key, 'elsewhere');
        assert.ok(await first.getAccessToken('elsewhere'));
      });
    });
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
