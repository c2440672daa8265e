import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Keyv from 'keyv';
import { createTokenManager, type Logger } from 'offline-tokens';
import { startAuthorizationServer, type AuthorizationServer } from './support/authorization-server.ts';
import { managerOptions, rejection, withManager } from './support/harness.ts';

interface Entry {
  level: keyof Logger;
  fields: Record<string, unknown>;
  message: string;
}

function capturingLogger(): Logger & { entries: Entry[] } {
  const entries: Entry[] = [];
  const at = (level: keyof Logger) => (fields: Record<string, unknown>, message: string): void => {
    entries.push({ level, fields, message });
  };
  return { entries, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

describe('logger option', () => {
  let idp: AuthorizationServer;
  before(async () => {
    idp = await startAuthorizationServer();
  });
  after(() => idp.close());

  it('logs rotations, retries, adoptions and reauth without any token or secret', async () => {
    const logger = capturingLogger();
    const store = new Keyv();
    await withManager({ idp, connect: 'user-1', options: { logger, store } }, async (tokens, clock) => {
      await withManager({ idp, clock, options: { store } }, async (other) => {
        await tokens.getAccessToken('user-1');
        clock.advance(3_600_000);
        idp.faults.push({ kind: 'respond', status: 503, body: 'busy' });
        await tokens.getAccessToken('user-1');
        // Another manager rotates; this one adopts the stored result instead of refreshing.
        clock.advance(3_600_000);
        await other.getAccessToken('user-1');
        await tokens.getAccessToken('user-1');
        await idp.revokeAllGrants();
        await rejection(tokens.getAccessToken('user-1', { forceRefresh: true }));
        await tokens.revoke('user-1').catch(() => {});

        const messages = logger.entries.map((entry) => `${entry.level} ${entry.message}`);
        const has = (pattern: RegExp): boolean => messages.some((m) => pattern.test(m));
        assert.ok(has(/^info .*consent completed/), messages.join('\n'));
        assert.ok(has(/^info .*refresh token rotated/), messages.join('\n'));
        assert.ok(has(/^warn .*failed transiently; retrying/), messages.join('\n'));
        assert.ok(has(/adopted/), messages.join('\n'));
        assert.ok(has(/^debug .*lock acquired/), messages.join('\n'));
        assert.ok(has(/^warn .*needs a new consent/), messages.join('\n'));
        const rotated = logger.entries.find((entry) => entry.message.includes('rotated') && entry.level === 'info');
        assert.equal(rotated?.fields.key, 'user-1', 'keys are logged as they are');

        const everything = JSON.stringify(logger.entries);
        assert.ok(idp.issuedTokens.size > 3);
        for (const token of idp.issuedTokens) assert.ok(!everything.includes(token), 'an issued token or code appears in the logs');
        assert.ok(!everything.includes(idp.clients.post.clientSecret), 'the client secret appears in the logs');
      });
    });
  });

  it('accepts console, refuses an object without the four methods, survives a throwing logger', async () => {
    const quiet = await createTokenManager(managerOptions(idp, 'post', { logger: console }));
    await quiet.close();
    await assert.rejects(createTokenManager(managerOptions(idp, 'post', { logger: { info() {} } as never })), {
      code: 'ERR_INVALID_OPTIONS',
      message: /`logger`/,
    });
    const boom = (): never => {
      throw new Error('transport down');
    };
    await withManager({ idp, connect: 'user-2', options: { logger: { debug: boom, info: boom, warn: boom, error: boom } } }, async (tokens) => {
      assert.ok(await tokens.getAccessToken('user-2', { forceRefresh: true }));
    });
  });
});
