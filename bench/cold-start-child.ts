/**
 * One cold-start sample, run in a fresh process by `bench/cold-start.ts`: reads one stored, valid
 * grant and prints, as JSON on stdout, the milliseconds from this process's start
 * (`performance.now()`, whose origin is the process start) to holding the access token.
 *
 * `node --conditions=source bench/cold-start-child.ts <sdk|raw> <sqlite|redis> <target> <issuer> <key>`
 * (`target`: the SQLite file path or the Redis URL).
 * @module
 */
const [mode, backend, target, issuer, key] = process.argv.slice(2) as [string, string, string, string, string];
const CLIENT_ID = 'cold-start-client';

let accessToken: string;
let close: () => Promise<void>;
if (mode === 'sdk') {
  const { createTokenManager } = await import('offline-tokens');
  const store = backend === 'redis' ? (await import('offline-tokens/redis')).createRedisStore({ url: target }) : undefined;
  const tokens = await createTokenManager({
    issuer,
    clientId: CLIENT_ID,
    clientSecret: 'cold-start-secret',
    redirectUri: 'http://127.0.0.1:1/callback',
    allowInsecureRequests: true,
    namespace: '',
    ...(store === undefined ? { sqlitePath: target } : { store }),
  });
  accessToken = await tokens.getAccessToken(key);
  close = async () => {
    await tokens.close();
    await store?.disconnect();
  };
} else {
  // What an application without the SDK does: open the same Keyv store, read the record, decode it.
  const { default: Keyv } = await import('keyv');
  let keyv: InstanceType<typeof Keyv>;
  if (backend === 'redis') {
    const { default: KeyvRedis } = await import('@keyv/redis');
    keyv = new Keyv({ store: new KeyvRedis(target, { namespace: 'offline-tokens' }), namespace: 'offline-tokens', useKeyPrefix: false });
  } else {
    const { SqliteStore } = await import('../src/storage/sqlite.ts');
    keyv = new Keyv({ store: new SqliteStore({ path: target }) });
  }
  const record = JSON.parse(await keyv.get(`grant:${key}`) as string) as { accessToken: string; expiresAt: number };
  if (!(record.expiresAt > Date.now())) throw new Error('cold start: the stored token has expired');
  accessToken = record.accessToken;
  close = () => keyv.disconnect();
}
const elapsedMs = performance.now();
if (typeof accessToken !== 'string' || accessToken.length === 0) throw new Error('cold start: no access token');
await close();
process.stdout.write(`${JSON.stringify({ elapsedMs })}\n`);
