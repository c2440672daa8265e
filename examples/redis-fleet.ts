/**
 * Running many instances: every process on every host runs this same file, and they all share one
 * Redis. Whatever the number of instances, each grant's refresh token is rotated by one of them at a
 * time (the Redis lock), and the others adopt the new access token from the store (encrypted at rest)
 * instead of refreshing it again.
 *
 *   REDIS_URL=redis://redis.internal:6379 \
 *   TOKENS_KEY=$(node -e "import('offline-tokens').then(m => console.log(m.generateEncryptionKey()))") \
 *   ISSUER=https://idp.example.com CLIENT_ID=... CLIENT_SECRET=... node examples/redis-fleet.ts
 *
 * Every instance needs the same TOKENS_KEY (keep it in your secret manager, not in Redis).
 */
import { createTokenManager, ReauthRequiredError, TokenManagerError } from 'offline-tokens';
import { createRedisLock, createRedisStore } from 'offline-tokens/redis';

const redisUrl = process.env.REDIS_URL ?? 'redis://localhost:6379';
const encryptionKey = process.env.TOKENS_KEY;
if (encryptionKey === undefined) throw new Error('Set TOKENS_KEY to a key from generateEncryptionKey(), the same on every instance');

// One store and one lock per process, both on the shared Redis.
const store = createRedisStore({ url: redisUrl });
// A crashed instance blocks the others for at most the lease (refreshes must fit in it, with margin).
const lock = createRedisLock({ url: redisUrl }, { leaseTtlMs: 30_000 });

const tokens = await createTokenManager({
  issuer: process.env.ISSUER ?? 'https://idp.example.com',
  clientId: process.env.CLIENT_ID ?? 'my-app',
  clientSecret: process.env.CLIENT_SECRET,
  redirectUri: 'https://app.example.com/callback',
  store,
  lock,
  encryption: { keys: { k1: encryptionKey }, currentKeyId: 'k1' },
});

tokens.on('refreshed', ({ key, rotations }) => console.log(`pid ${process.pid} refreshed ${key} (rotation ${rotations})`));
tokens.on('reauthRequired', ({ key, reason }) => console.log(`${key} must connect again (${reason})`));

/** A job any instance may run at any time for any user: they all share the grant. */
export async function syncCalendar(userId: string, signal?: AbortSignal): Promise<void> {
  try {
    const accessToken = await tokens.getAccessToken(userId, { signal });
    const response = await fetch('https://api.example.com/calendar/sync', {
      method: 'POST',
      headers: { authorization: `Bearer ${accessToken}` },
      signal,
    });
    if (response.status === 401) {
      // The API rejected a token that looked valid: get a new one, once.
      const fresh = await tokens.getAccessToken(userId, { forceRefresh: true, signal });
      await fetch('https://api.example.com/calendar/sync', { method: 'POST', headers: { authorization: `Bearer ${fresh}` }, signal });
    }
  } catch (error) {
    if (error instanceof ReauthRequiredError) {
      console.log(`Ask ${error.key} to connect again (${error.reason})`);
      return;
    }
    // ERR_SERVER_UNAVAILABLE, ERR_STORE_UNAVAILABLE, ERR_LOCK_UNAVAILABLE: the grant is intact, retry later.
    if (error instanceof TokenManagerError) console.log(`sync for ${userId} postponed: ${error.code}`);
    else throw error;
  }
}

const jobs = new AbortController();
// A failed job (the API unreachable...) is logged, never an unhandled rejection that ends the process.
const timer = setInterval(() => {
  syncCalendar('user-42', jobs.signal).catch((error: unknown) => console.error('calendar sync failed:', error instanceof Error ? error.message : error));
}, 60_000);

// On SIGTERM: stop taking work, let the manager finish (it aborts refreshes in flight), then close
// the store and the lock, which the manager does not own because they were passed in.
process.once('SIGTERM', () => {
  clearInterval(timer);
  jobs.abort();
  void (async () => {
    try {
      await tokens.close();
    } finally {
      await Promise.allSettled([store.disconnect(), lock.close?.()]);
    }
  })();
});
