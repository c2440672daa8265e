/**
 * No secret anywhere it can leak: every error the SDK throws in the scenarios below (their message,
 * `String()`, `JSON.stringify()` and `util.inspect()`), every event payload and everything printed is
 * searched for every token and code the server issued, the client secret and the encryption key.
 * (test/run.ts does the same over the whole suite's output.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { inspect } from 'node:util';
import Keyv from 'keyv';
import { generateEncryptionKey, type TokenManager, type TokenManagerEventName } from 'offline-tokens';
import { startAuthorizationServer, type AuthorizationServer } from './support/authorization-server.ts';
import { connect, grantKey, withManager } from './support/harness.ts';

const HOUR_MS = 3_600_000;
const EVENTS: TokenManagerEventName[] = ['refreshed', 'refreshFailed', 'reauthRequired', 'reauthSoon', 'persistFailed', 'persisted'];

describe('no secret in errors, events or logs', () => {
  let idp: AuthorizationServer;
  const seen: string[] = [];
  const encryptionKey = generateEncryptionKey();
  let restore: () => void;

  before(async () => {
    idp = await startAuthorizationServer();
    const out = process.stdout.write.bind(process.stdout);
    const err = process.stderr.write.bind(process.stderr);
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
      seen.push(String(chunk));
      return out(chunk, ...rest);
    }) as typeof process.stdout.write;
    process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
      seen.push(String(chunk));
      return err(chunk, ...rest);
    }) as typeof process.stderr.write;
    restore = () => {
      process.stdout.write = out;
      process.stderr.write = err;
    };
  });
  after(async () => {
    restore();
    await idp.close();
  });

  function record(value: unknown): void {
    seen.push(inspect(value, { depth: 8 }), String(value));
    try {
      seen.push(JSON.stringify(value) ?? '');
    } catch {
      // circular: inspect covered it
    }
    if (value instanceof Error) seen.push(value.message, value.stack ?? '');
  }

  async function attempt(promise: Promise<unknown>): Promise<void> {
    try {
      await promise;
    } catch (error) {
      record(error);
    }
  }

  function listen(tokens: TokenManager): void {
    for (const event of EVENTS) tokens.on(event, (payload) => record(payload));
  }

  it('runs the success and failure paths', async () => {
    const store = new Keyv();
    const options = { store, encryption: { keys: { k: encryptionKey }, currentKeyId: 'k' }, refreshTimeoutMs: 400 };
    await withManager({ idp, options }, async (tokens, clock) => {
      listen(tokens);
      record(tokens);
      await connect(tokens, idp, 'user');
      record(await tokens.getGrant('user'));
      clock.advance(HOUR_MS);
      await tokens.getAccessToken('user');
      await tokens.getAccessToken('user', { forceRefresh: true });

      // Errors from the server, the network and bad responses.
      for (const fault of [
        { kind: 'respond', status: 401, body: '{"error":"invalid_client"}' },
        { kind: 'respond', status: 200, body: '{"access_token":"x","token_type":"mac","expires_in":1}' },
        { kind: 'mutate-response', mutate: (json: Record<string, unknown>) => ({ ...json, expires_in: 'never' }) },
      ] as const) {
        idp.faults.push(fault);
        await attempt(tokens.getAccessToken('user', { forceRefresh: true }));
      }
      for (let i = 0; i < 30; i++) idp.faults.push({ kind: 'respond', status: 503 });
      await attempt(tokens.getAccessToken('user', { forceRefresh: true }));
      idp.faults.length = 0;

      // Callback errors: a replayed callback (code already used), a denied consent, garbage.
      const { url, state } = await tokens.startAuthorization({ key: 'second' });
      const callback = await idp.consent(url);
      await tokens.completeAuthorization(callback, { state });
      await attempt(tokens.completeAuthorization(callback, { state }));
      const { url: url2, state: state2 } = await tokens.startAuthorization({ key: 'third' });
      const callback2 = await idp.consent(url2);
      await attempt(tokens.completeAuthorization(callback2.href.replace(/state=[^&]+/, 'state=forged'), { state: state2 }));
      await attempt(tokens.completeAuthorization(callback2, { key: 'someone-else' }));
      await attempt(tokens.completeAuthorization('not a url', { state: state2 }));

      // Records tampered with, and the rotation lost.
      const raw = (await store.get(grantKey('second'))) as string;
      await store.set(grantKey('copied'), raw);
      await attempt(tokens.getAccessToken('copied'));
      idp.faults.push({ kind: 'drop-after' });
      await attempt(tokens.getAccessToken('second', { forceRefresh: true }));
      await attempt(tokens.getAccessToken('second'));

      // The grant revoked at the server, then revoked by the app.
      await idp.revokeAllGrants();
      await attempt(tokens.getAccessToken('user', { forceRefresh: true }));
      await attempt(tokens.revoke('user'));
      await tokens.close();
      await attempt(tokens.getAccessToken('user'));
    });
  });

  it('leaks none of the secrets it handled', () => {
    const haystack = seen.join('\n');
    const secrets = [...idp.issuedTokens, idp.clients.post.clientSecret, encryptionKey];
    assert.ok(idp.issuedTokens.size >= 8, `the scenarios issued ${idp.issuedTokens.size} tokens and codes`);
    assert.ok(haystack.length > 5_000, 'the scenarios produced output to search');
    const leaked = secrets.filter((secret) => haystack.includes(secret));
    for (const secret of leaked) {
      const at = haystack.indexOf(secret);
      // Where, not what: the text before the secret, with anything token-like masked.
      restore();
      console.error('LEAK CONTEXT:', haystack.slice(Math.max(0, at - 300), at).replace(/\s+/g, ' ').replace(/[\w-]{16,}/g, '[masked]'));
    }
    assert.equal(leaked.length, 0, `${leaked.length} of ${secrets.length} secrets appear in errors, events or logs`);
  });
});
