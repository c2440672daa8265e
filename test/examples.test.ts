/**
 * The README's runnable examples for resources & scopes, DPoP with `tokens.fetch`, and
 * `private_key_jwt` run as a user runs them (a child process against the local test server), and
 * say what the README says they show.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);

async function runExample(name: string): Promise<string> {
  const { stdout } = await run(process.execPath, ['--conditions=source', join(import.meta.dirname, '..', 'examples', name)], { timeout: 120_000 });
  return stdout;
}

describe('examples', () => {
  it('resources.ts: a token per API (its aud), a down-scoped token, one rotation per refresh', { timeout: 150_000 }, async () => {
    const out = await runExample('resources.ts');
    assert.match(out, /orders API saw a token for \{ aud: 'https:\/\/api\.example\/orders', scope: 'api:read' \}/);
    assert.match(out, /billing API saw \{ aud: 'https:\/\/api\.example\/billing'/);
    assert.match(out, /down-scoped token: scope "openid email"/);
    assert.match(out, /3 refreshes, 3 rotations, 0 reused refresh tokens/);
  });

  it('dpop.ts: tokens.fetch is accepted (after one nonce challenge), the bound token alone is not', { timeout: 150_000 }, async () => {
    const out = await runExample('dpop.ts');
    assert.match(out, /tokens\.fetch: HTTP 200, then HTTP 200 \(1 nonce challenge\); the same token as a bearer token: HTTP 401/);
  });

  it('private-key-jwt.ts: the whole flow authenticated with private_key_jwt', { timeout: 150_000 }, async () => {
    const out = await runExample('private-key-jwt.ts');
    assert.match(out, /code exchange, 1 refresh, introspection and revocation \(confirmed\), all authenticated with private_key_jwt/);
  });
});
