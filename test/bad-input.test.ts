/**
 * Bad input from every side: token responses, callbacks, stored records. Each must end in a typed
 * error with a clear message, persist nothing it should not, and never crash. Property-based tests
 * (fast-check) cover the callback parser and the record decoder.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import Keyv from 'keyv';
import { CallbackError, RecordError, TokenManagerError, TokenResponseError } from 'offline-tokens';
import { parseCallback } from '../src/consent/callback.ts';
import type { Grant } from '../src/grant/grant.ts';
import { decodeGrant, encodeGrant } from '../src/grant/record.ts';
import { startAuthorizationServer, type AuthorizationServer } from './support/authorization-server.ts';
import { grantKey, rejection, withManager } from './support/harness.ts';

const HOUR_MS = 3_600_000;

describe('malformed token responses', () => {
  let idp: AuthorizationServer;
  before(async () => {
    idp = await startAuthorizationServer();
  });
  after(() => idp.close());

  const bearer = { access_token: 'at', token_type: 'Bearer', expires_in: 3600 };
  const bodies: Array<[string, string, Record<string, string>?]> = [
    ['not JSON', 'this is not json'],
    ['HTML error page with 200', '<html>maintenance</html>', { 'content-type': 'text/html' }],
    ['a JSON array', '[1,2,3]'],
    ['no access_token', JSON.stringify({ token_type: 'Bearer', expires_in: 3600 })],
    ['an empty access_token', JSON.stringify({ ...bearer, access_token: '' })],
    ['a non-Bearer token_type', JSON.stringify({ ...bearer, token_type: 'mac' })],
    ['no token_type', JSON.stringify({ access_token: 'at', expires_in: 3600 })],
    ['no expires_in', JSON.stringify({ access_token: 'at', token_type: 'Bearer' })],
    ['a negative expires_in', JSON.stringify({ ...bearer, expires_in: -60 })],
    ['a zero expires_in', JSON.stringify({ ...bearer, expires_in: 0 })],
    ['a huge expires_in', JSON.stringify({ ...bearer, expires_in: 1e12 })],
    ['a non-numeric string expires_in', JSON.stringify({ ...bearer, expires_in: 'soon' })],
    ['a numeric refresh_token', JSON.stringify({ ...bearer, refresh_token: 42 })],
    ['an oversized body (2 MiB)', JSON.stringify({ ...bearer, padding: 'x'.repeat(2 * 1024 * 1024) })],
  ];

  for (const [name, body, headers] of bodies) {
    it(`${name}: TokenResponseError, grant unchanged, next refresh works`, async () => {
      const store = new Keyv();
      const key = `bad-${name}`;
      await withManager({ idp, connect: key, options: { store } }, async (tokens, clock) => {
        try {
          const before = await store.get(grantKey(key));
          clock.advance(HOUR_MS);
          idp.faults.push({ kind: 'respond', status: 200, body, headers: { 'content-type': 'application/json', ...headers } });
          const error = await rejection(tokens.getAccessToken(key));
          assert.ok(error instanceof TokenResponseError, `got ${error}`);
          assert.equal(error.code, 'ERR_BAD_TOKEN_RESPONSE');
          assert.ok(!error.message.includes('"at"') && error.message.length < 200, 'a short message with no value in it');
          assert.equal(await store.get(grantKey(key)), before, 'nothing persisted');
          assert.ok(await tokens.getAccessToken(key), 'the next refresh works');
        } finally {
          idp.faults.length = 0;
        }
      });
    });
  }

  it('a numeric string expires_in is read as the number (as openid-client does)', async () => {
    await withManager({ idp, connect: 'string-expiry' }, async (tokens, clock) => {
      clock.advance(HOUR_MS);
      idp.faults.push({ kind: 'respond', status: 200, body: JSON.stringify({ ...bearer, access_token: 'string-expiry-at', expires_in: '3600' }) });
      assert.equal(await tokens.getAccessToken('string-expiry'), 'string-expiry-at');
      assert.equal((await tokens.getGrant('string-expiry'))?.expiresAt, clock.now() + HOUR_MS);
    });
  });

  it('a malformed answer to a processed rotation: the new refresh token is still persisted', async () => {
    await withManager({ idp, connect: 'salvage' }, async (tokens, clock) => {
      idp.resetCounters();
      clock.advance(HOUR_MS);
      idp.faults.push({ kind: 'mutate-response', mutate: (json) => ({ ...json, expires_in: -1 }) });
      assert.ok(await rejection(tokens.getAccessToken('salvage')) instanceof TokenResponseError);
      assert.equal((await tokens.getGrant('salvage'))?.rotations, 1, 'the rotated refresh token was kept');
      assert.ok(await tokens.getAccessToken('salvage'));
      assert.equal(idp.counters.refreshSuccesses, 2);
      assert.equal(idp.counters.reusedRefreshTokens, 0, 'the old refresh token was not presented again');
    });
  });
});

describe('property: callback parser', () => {
  it('returns parameters or throws CallbackError, for any string', () => {
    fc.assert(fc.property(fc.oneof(fc.string(), fc.webUrl({ withQueryParameters: true, withFragments: true }), fc.string({ unit: "binary", maxLength: 9_000 })), (input) => {
      try {
        const params = parseCallback(input);
        assert.ok(params.search instanceof URLSearchParams);
      } catch (error) {
        assert.ok(error instanceof CallbackError, `unexpected ${String(error)}`);
        assert.equal(error.reason, 'malformed');
      }
    }), { numRuns: 2_000 });
  });

  it('reads back any state and code it was given, and refuses repeated parameters', () => {
    const value = fc.string({ minLength: 1, maxLength: 200 });
    fc.assert(fc.property(value, value, (state, code) => {
      const url = new URL('https://app.example.com/callback');
      url.searchParams.set('state', state);
      url.searchParams.set('code', code);
      const params = parseCallback(url);
      assert.equal(params.state, state);
      assert.equal(params.code, code);
      url.searchParams.append('code', code);
      assert.throws(() => parseCallback(url), CallbackError);
    }), { numRuns: 1_000 });
  });
});

describe('property: record decoder', () => {
  const time = fc.integer({ min: 0, max: 2 ** 45 });
  const grant: fc.Arbitrary<Grant> = fc.record({
    key: fc.string({ maxLength: 50 }),
    issuer: fc.webUrl(),
    clientId: fc.string({ maxLength: 30 }),
    subject: fc.option(fc.string(), { nil: undefined }),
    scope: fc.string(),
    refreshToken: fc.string({ minLength: 1 }),
    accessToken: fc.string({ minLength: 1 }),
    expiresAt: time,
    issuedAt: time,
    refreshExpiresAt: time,
    createdAt: time,
    rotations: fc.nat(),
    status: fc.constantFrom('active', 'reauth_required'),
    reauthReason: fc.option(fc.constantFrom('invalid_grant', 'expired', 'rotation_lost'), { nil: undefined }),
    refreshStartedAt: fc.option(time, { nil: undefined }),
  });

  it('round-trips every valid grant', () => {
    fc.assert(fc.property(grant, (value) => {
      assert.deepEqual(decodeGrant(encodeGrant(value)), { ...value });
    }), { numRuns: 2_000 });
  });

  it('throws RecordError, never anything else, for truncated, mutated or foreign records', () => {
    const mutation = fc.oneof(
      grant.chain((value) => fc.nat({ max: encodeGrant(value).length - 1 }).map((cut) => encodeGrant(value).slice(0, cut))),
      grant.chain((value) => fc.record({ field: fc.constantFrom(...Object.keys(value), 'v'), replacement: fc.jsonValue() })
        .map(({ field, replacement }) => JSON.stringify({ ...JSON.parse(encodeGrant(value)), [field]: replacement }))),
      fc.json(),
      fc.string(),
      fc.anything(),
    );
    fc.assert(fc.property(mutation, (record) => {
      try {
        decodeGrant(record);
      } catch (error) {
        assert.ok(error instanceof RecordError, `unexpected ${String(error)}`);
        assert.ok(error instanceof TokenManagerError);
      }
    }), { numRuns: 3_000 });
  });

  it('refuses an unknown record version', () => {
    const future = JSON.stringify({ ...JSON.parse(encodeGrant(fc.sample(grant, 1)[0]!)), v: 2 });
    assert.throws(() => decodeGrant(future), /unknown record version/);
  });
});
