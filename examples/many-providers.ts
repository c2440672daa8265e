/**
 * Many providers in one process: one manager per provider, all sharing one store and one lock. Store
 * keys and lock keys carry each manager's namespace (a digest of its issuer and client id), and every
 * record is bound to its issuer, client and key, so user 'user-42' can hold a Google grant and a
 * GitHub grant side by side, and neither provider ever sees the other's tokens.
 *
 *   REDIS_URL=redis://localhost:6379 TOKENS_KEY=... \
 *   GOOGLE_CLIENT_ID=... GOOGLE_CLIENT_SECRET=... GITHUB_CLIENT_ID=... GITHUB_CLIENT_SECRET=... \
 *   node examples/many-providers.ts
 */
import { createTokenManager, type TokenManager } from 'offline-tokens';
import { github, google } from 'offline-tokens/providers';
import { createRedisLock, createRedisStore } from 'offline-tokens/redis';

const redisUrl = process.env.REDIS_URL ?? 'redis://localhost:6379';
const encryption = { keys: { k1: process.env.TOKENS_KEY ?? '' }, currentKeyId: 'k1' };
const store = createRedisStore({ url: redisUrl });
const lock = createRedisLock({ url: redisUrl });

const managers: Record<'google' | 'github', TokenManager> = {
  google: await createTokenManager({
    ...google(),
    clientId: process.env.GOOGLE_CLIENT_ID ?? 'google-client',
    clientSecret: process.env.GOOGLE_CLIENT_SECRET,
    redirectUri: 'https://app.example.com/callback/google',
    scope: 'openid email https://www.googleapis.com/auth/drive.readonly',
    store, lock, encryption,
  }),
  github: await createTokenManager({
    ...github(),
    clientId: process.env.GITHUB_CLIENT_ID ?? 'github-client',
    clientSecret: process.env.GITHUB_CLIENT_SECRET,
    redirectUri: 'https://app.example.com/callback/github',
    store, lock, encryption,
  }),
};

// Acting for one user at both providers: each manager refreshes and rotates its own grant.
export async function tokensFor(userKey: string): Promise<{ google: string; github: string }> {
  const [googleToken, githubToken] = await Promise.all([
    managers.google.getAccessToken(userKey),
    managers.github.getAccessToken(userKey),
  ]);
  return { google: googleToken, github: githubToken };
}

// Closing: each manager closes what it opened; the shared store and lock are closed once, here.
export async function shutdown(): Promise<void> {
  await Promise.all(Object.values(managers).map((manager) => manager.close()));
  await lock.close?.();
  await store.disconnect();
}
