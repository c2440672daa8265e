/**
 * What someone with write access to the store can no longer do: plant a plaintext pending consent
 * when encryption is on, keep a grant in clear after the migration read it, or roll a grant back to
 * an older copy this process has already seen rotated.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Keyv from 'keyv';
import { generateEncryptionKey, RecordError, type TokenManagerOptions } from 'offline-tokens';
import { startAuthorizationServer, type AuthorizationServer } from './support/authorization-server.ts';
import { connect, grantKey, rejection, withManager } from './support/harness.ts';

const HOUR_MS = 3_600_000;

describe('stored records and their owner', () => {
  let idp: AuthorizationServer;
  const key = generateEncryptionKey();
  before(async () => {
    idp = await startAuthorizationServer();
  });
  after(() => idp.close());

  /** The store and (when `encrypted`) encryption options of a manager; `acceptPlaintext` while migrating. */
  function options(store: Keyv, encrypted: boolean, acceptPlaintext = false): Partial<TokenManagerOptions> {
    return {
      store,
      ...(encrypted ? { encryption: { keys: { k1: key }, currentKeyId: 'k1', acceptPlaintext } } : {}),
    };
  }

  it('with encryption on, a plaintext pending consent is refused even while migrating: nothing exchanged, nothing stored', async () => {
    const store = new Keyv();
    const { url, state } = await withManager({ idp, options: options(store, false) }, (plain) => plain.startAuthorization({ key: 'planted' }));
    const callback = await idp.consent(url);
    await withManager({ idp, options: options(store, true, true) }, async (migrating) => {
      const exchanges = idp.counters.codeExchanges;
      const error = await rejection(migrating.completeAuthorization(callback, { state }));
      assert.ok(error instanceof RecordError, `got ${error}`);
      assert.equal(idp.counters.codeExchanges, exchanges, 'the code was not exchanged');
      assert.equal(await store.get(grantKey('planted')), undefined);
    });
  });

  it('a plaintext grant is accepted only while migrating, and re-encrypted on its first read', async () => {
    const store = new Keyv();
    const accessToken = await withManager({ idp, connect: 'dave', options: options(store, false) }, (plain) => plain.getAccessToken('dave'));

    await withManager({ idp, options: options(store, true) }, async (strict) => {
      assert.ok(await rejection(strict.getAccessToken('dave')) instanceof RecordError, 'refused without acceptPlaintext');
      await withManager({ idp, options: options(store, true, true) }, async (migrating) => {
        assert.equal(await migrating.getAccessToken('dave'), accessToken);
      });
      const raw = (await store.get(grantKey('dave'))) as string;
      assert.match(raw, /^\{"enc":1,"alg":"A256GCM","kid":"k1"/, 're-encrypted by the read');
      for (const token of idp.issuedTokens) assert.ok(!raw.includes(token));
      assert.equal(await strict.getAccessToken('dave'), accessToken, 'now readable without acceptPlaintext');
    });
  });

  for (const encrypted of [true, false]) {
    it(`a grant rolled back to a copy older than one this process saw is refused (${encrypted ? 'encrypted' : 'plain'} store): RecordError, no reuse`, async () => {
      const store = new Keyv();
      await withManager({ idp, connect: 'erin', options: options(store, encrypted) }, async (tokens, clock) => {
        clock.advance(HOUR_MS);
        await tokens.getAccessToken('erin');
        const older = await store.get(grantKey('erin'));
        clock.advance(HOUR_MS);
        await tokens.getAccessToken('erin');
        assert.equal((await tokens.getGrant('erin'))?.rotations, 2);
        idp.resetCounters();

        await store.set(grantKey('erin'), older); // someone with write access restores the older copy
        clock.advance(HOUR_MS);
        const error = await rejection(tokens.getAccessToken('erin'));
        assert.ok(error instanceof RecordError, `got ${error}`);
        assert.equal(idp.counters.refreshRequests, 0, 'the rotated-away refresh token was not presented');
        assert.equal(idp.counters.reusedRefreshTokens, 0);

        await connect(tokens, idp, 'erin'); // a new consent under the same key starts a new count
        assert.equal((await tokens.getGrant('erin'))?.rotations, 0);
        clock.advance(HOUR_MS);
        assert.ok(await tokens.getAccessToken('erin'));
      });
    });
  }
});
