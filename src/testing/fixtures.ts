/**
 * Records for store tests: a valid grant and a pending consent, of a fixed issuer and client.
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { Grant } from '../grant/grant.ts';
import type { PendingAuthorization } from '../storage/grant-store.ts';

/**
 * A valid, active grant for `key`, issued at `nowMs`: refresh token `refresh-1`, an access token
 * valid for an hour, a refresh token for 14 days.
 *
 * @example
 * ```ts
 * await store.setGrant(makeGrant('user-1'));
 * ```
 */
export function makeGrant(key: string, nowMs = Date.now()): Grant {
  const now = nowMs;
  return {
    key,
    issuer: 'https://issuer.example',
    clientId: 'client-1',
    subject: 'subject-1',
    scope: 'openid offline_access',
    refreshToken: 'refresh-1',
    accessToken: 'access-1',
    expiresAt: now + 3_600_000,
    issuedAt: now,
    refreshExpiresAt: now + 14 * 86_400_000,
    createdAt: now,
    rotations: 0,
    status: 'active',
    reauthReason: undefined,
    refreshStartedAt: undefined,
  };
}

/**
 * A pending consent for a fresh key, expiring in a minute.
 *
 * @example
 * ```ts
 * await store.putPending('state-1', makePending(), 60_000);
 * ```
 */
export function makePending(): PendingAuthorization {
  return {
    key: `user-${randomUUID()}`,
    issuer: 'https://issuer.example',
    clientId: 'client-1',
    codeVerifier: 'verifier',
    nonce: 'nonce',
    redirectUri: 'https://app.example/callback',
    scope: 'openid offline_access',
    expiresAt: Date.now() + 60_000,
  };
}
