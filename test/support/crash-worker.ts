/**
 * Child process for the crash test: refreshes one grant back to back (forced) until it is killed.
 * Config comes as JSON in argv[2]: { options, sqlitePath, key }.
 *
 * The worker starts in two steps so that the test can start the next one while it checks the last kill:
 * once its modules are loaded it sends `{ type: 'booted' }` and waits, touching neither the store nor the
 * lock; on the parent's `'go'` it builds its manager, sends `{ type: 'ready' }` and refreshes until killed.
 */
import { flushCompileCache } from 'node:module';
import Keyv from 'keyv';
import { createSqliteLock, createTokenManager, SqliteStore, type TokenManagerOptions } from 'offline-tokens';

const config = JSON.parse(process.argv[2]!) as { options: TokenManagerOptions; sqlitePath: string; key: string };
// What the SDK loads on its first refresh (openid-client, fetch), loaded now: after 'go' the random kill
// falls on the refresh itself, not on module loading, even on a loaded machine.
await import('openid-client');
await fetch(config.options.issuer).then((response) => response.arrayBuffer(), () => undefined);
// And the SDK's own modules a first refresh imports (the same files: the package resolves to the
// sources here), so that the first refresh request goes out within the kill window.
await Promise.all(['../../src/refresh/transaction.ts', '../../src/oauth/client.ts', '../../src/oauth/discovery.ts', '../../src/oauth/http.ts']
  .map((path) => import(new URL(path, import.meta.url).href)));
// Every worker dies by SIGKILL, so none would ever write the compile cache (`NODE_COMPILE_CACHE`, set by
// `npm test`) at exit: this file would be compiled again by every worker, and its type stripping would
// load the TypeScript stripper (~150 ms of CPU per worker). The first worker writes it here.
flushCompileCache();
await new Promise<void>((resolve) => {
  process.once('message', () => resolve());
  process.send!({ type: 'booted' });
});
const tokens = await createTokenManager({
  ...config.options,
  store: new Keyv({ store: new SqliteStore({ path: config.sqlitePath }) }),
  lock: createSqliteLock({ database: config.sqlitePath, leaseTtlMs: 1_000 }),
});
process.send!({ type: 'ready' });
for (;;) {
  try {
    await tokens.getAccessToken(config.key, { forceRefresh: true });
  } catch {
    // A lost race with the parent's check or a dead grant: keep going until killed.
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
