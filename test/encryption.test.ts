import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import Keyv from 'keyv';
import { ConfigurationError, createTokenManager, generateEncryptionKey, RecordError, type EncryptionOptions } from 'offline-tokens';
import { startAuthorizationServer, type AuthorizationServer } from './support/authorization-server.ts';
import { createClock, grantKey, managerOptions, rejection, withManager } from './support/harness.ts';

describe('encryption at rest', () => {
  let idp: AuthorizationServer;
  const oldKey = generateEncryptionKey();
  const newKey = randomBytes(32);
  before(async () => {
    idp = await startAuthorizationServer();
  });
  after(() => idp.close());

  it('stores no token in clear, and reads it back', async () => {
    const store = new Keyv();
    const encryption = { keys: { k1: oldKey }, currentKeyId: 'k1' };
    await withManager({ idp, connect: 'alice', options: { store, encryption } }, async (tokens) => {
      const accessToken = await tokens.getAccessToken('alice');
      const raw = (await store.get(grantKey('alice'))) as string;
      assert.match(raw, /^\{"enc":1,"alg":"A256GCM","kid":"k1"/);
      for (const token of idp.issuedTokens) assert.ok(!raw.includes(token), 'no issued token appears in the stored record');
      await withManager({ idp, options: { store, encryption } }, async (reopened) => {
        assert.equal(await reopened.getAccessToken('alice'), accessToken);
      });
    });
  });

  it('refuses a record copied under another key, a tampered record, and an unknown key id with RecordError', async () => {
    const store = new Keyv();
    const encryption = { keys: { k1: oldKey }, currentKeyId: 'k1' };
    await withManager({ idp, connect: 'alice', options: { store, encryption } }, async (tokens) => {
      const raw = (await store.get(grantKey('alice'))) as string;
      await store.set(grantKey('mallory'), raw);
      const copied = await rejection(tokens.getAccessToken('mallory'));
      assert.ok(copied instanceof RecordError, `got ${copied}`);
      assert.equal(copied.code, 'ERR_BAD_RECORD');

      const envelope = JSON.parse(raw) as { ct: string };
      const flipped = envelope.ct.slice(0, 10) + (envelope.ct[10] === 'A' ? 'B' : 'A') + envelope.ct.slice(11);
      await store.set(grantKey('tampered'), JSON.stringify({ ...envelope, ct: flipped }));
      assert.ok(await rejection(tokens.getAccessToken('tampered')) instanceof RecordError);
      await store.set(grantKey('truncated'), raw.slice(0, raw.length - 20));
      assert.ok(await rejection(tokens.getAccessToken('truncated')) instanceof RecordError);

      await withManager({ idp, options: { store, encryption: { keys: { k2: newKey }, currentKeyId: 'k2' } } }, async (stranger) => {
        const unknown = await rejection(stranger.getAccessToken('alice'));
        assert.ok(unknown instanceof RecordError);
        assert.match(unknown.message, /"k1"/);
      });
      assert.equal((await tokens.getGrant('alice'))?.status, 'active', 'the grant itself is untouched');
    });
  });

  it('decrypts with any key of the ring and re-encrypts with the current key on the next write', async () => {
    const store = new Keyv();
    const clock = createClock();
    await withManager({ idp, clock, connect: 'bob', options: { store, encryption: { keys: { old: oldKey }, currentKeyId: 'old' } } }, async () => {});
    await withManager({ idp, clock, options: { store, encryption: { keys: { old: oldKey, new: newKey }, currentKeyId: 'new' } } }, async (rotated) => {
      assert.ok(await rotated.getAccessToken('bob'));
      assert.match((await store.get(grantKey('bob'))) as string, /"kid":"old"/);
      clock.advance(3_600_000);
      await rotated.getAccessToken('bob');
      assert.match((await store.get(grantKey('bob'))) as string, /"kid":"new"/);
    });
  });

  it('refuses plaintext records unless migrating, and bad keys at construction', async () => {
    const store = new Keyv();
    await withManager({ idp, connect: 'carol', options: { store } }, async () => {});
    await withManager({ idp, options: { store, encryption: { keys: { k1: oldKey }, currentKeyId: 'k1' } } }, async (strict) => {
      assert.ok(await rejection(strict.getAccessToken('carol')) instanceof RecordError);
    });
    await withManager({ idp, options: { store, encryption: { keys: { k1: oldKey }, currentKeyId: 'k1', acceptPlaintext: true } } }, async (migrating) => {
      assert.ok(await migrating.getAccessToken('carol'));
    });

    const invalid: EncryptionOptions[] = [
      { keys: { k1: 'too-short' }, currentKeyId: 'k1' },
      { keys: { k1: randomBytes(16) }, currentKeyId: 'k1' },
      { keys: { k1: oldKey }, currentKeyId: 'k2' },
      { keys: { 'bad id!': oldKey }, currentKeyId: 'bad id!' },
    ];
    for (const encryption of invalid) {
      const error = await rejection(createTokenManager(managerOptions(idp, 'post', { encryption })));
      assert.ok(error instanceof ConfigurationError, `got ${error}`);
      assert.ok(!error.message.includes(oldKey), 'the key is not in the message');
    }
  });
});
