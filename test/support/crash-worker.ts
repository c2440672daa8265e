/**
 * Child process for the crash test: refreshes one grant back to back (forced) until it is killed.
 * Config comes as JSON in argv[2]: { managerOptions, sqlitePath, key }.
 */
import Keyv from 'keyv';
import { createSqliteLock, createTokenManager, SqliteStore, type TokenManagerOptions } from 'offline-tokens';

const config = JSON.parse(process.argv[2]!) as { options: TokenManagerOptions; sqlitePath: string; key: string };
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
