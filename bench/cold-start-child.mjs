/**
 * One cold-start sample, run in a fresh process by `bench/cold-start.ts`. Plain JavaScript, like the
 * SDK it loads (built): type stripping a TypeScript entry would add the same ~100 ms to both candidates.
 * Reads one stored, valid grant and prints, as JSON on stdout, the milliseconds from this process's
 * start (`performance.now()`, whose origin is the process start) to holding the access token, and the
 * CPU time the process used by then (`process.cpuUsage()`).
 *
 * `node bench/cold-start-child.mjs <sdk|raw> <sqlite|redis> <target> <issuer> <key> <dist> <raw-dist>`
 * (`target`: the SQLite file path or the Redis URL; `dist`: the SDK as the package's build emits it,
 * as an application loads it from the package; `raw-dist`: the SDK built by `tsc`, one file per
 * module, whose `storage/sqlite.js` the raw SQLite read uses).
 * @module
 */
const [mode, backend, target, issuer, key, dist, rawDist] = process.argv.slice(2);
/** @param {string} path @param {string} [root] */
const built = (path, root = dist) => new URL(path, `file://${root}/`).href;
const CLIENT_ID = 'cold-start-client';

/** @type {string} */
let accessToken;
/** @type {() => Promise<void>} */
let close;
if (mode === 'sdk') {
  const { createTokenManager } = await import(built('index.js'));
  const store = backend === 'redis' ? (await import(built('redis.js'))).createRedisStore({ url: target }) : undefined;
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
  let keyv;
  if (backend === 'redis') {
    const { default: KeyvRedis } = await import('@keyv/redis');
    keyv = new Keyv({ store: new KeyvRedis(target, { namespace: 'offline-tokens' }), namespace: 'offline-tokens', useKeyPrefix: false });
  } else {
    const { SqliteStore } = await import(built('storage/sqlite.js', rawDist));
    keyv = new Keyv({ store: new SqliteStore({ path: target }) });
  }
  const record = JSON.parse(await keyv.get(`grant:${key}`));
  if (!(record.expiresAt > Date.now())) throw new Error('cold start: the stored token has expired');
  accessToken = record.accessToken;
  close = () => keyv.disconnect();
}
const elapsedMs = performance.now();
const { user, system } = process.cpuUsage();
if (typeof accessToken !== 'string' || accessToken.length === 0) throw new Error('cold start: no access token');
await close();
process.stdout.write(`${JSON.stringify({ elapsedMs, cpuMs: (user + system) / 1000 })}\n`);
