/**
 * Runs a Lua script on a node-redis 5 client: `EVAL` once per client, then `EVALSHA`. Shared by the
 * Redis store's compare-and-set (`storage/redis-cas.ts`) and the Redis lock (`locks/redis-scripts.ts`).
 * @module
 */
import { nodeCrypto } from './node-crypto.ts';

/** What running a script needs of a node-redis 5 client. */
export interface ScriptClient {
  /** Runs a Lua script. */
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  /** Used when present: the script's SHA-1 instead of its text, `EVAL` on `NOSCRIPT`. */
  evalSha?(sha: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
}

/** The SHA-1 of each script, computed on first use. */
const scriptShas = new Map<string, string>();
/** The scripts each client has sent with `EVAL` (which caches them on the server). */
const sentScripts = new WeakMap<ScriptClient, Set<string>>();

/**
 * Runs a script: the first time on a client by `EVAL` (one round trip, and Redis caches the script),
 * then by its SHA-1 (`EVALSHA`: the text is not sent again), falling back to `EVAL` on `NOSCRIPT`
 * (Redis restarted or its script cache flushed).
 */
export async function runScript(client: ScriptClient, script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown> {
  let sent = sentScripts.get(client);
  if (typeof client.evalSha !== 'function' || sent?.has(script) !== true) {
    const reply = await client.eval(script, options);
    if (sent === undefined) sentScripts.set(client, sent = new Set());
    sent.add(script);
    return reply;
  }
  let sha = scriptShas.get(script);
  if (sha === undefined) {
    sha = nodeCrypto().createHash('sha1').update(script).digest('hex');
    scriptShas.set(script, sha);
  }
  try {
    return await client.evalSha(sha, options);
  } catch (error) {
    if (!String((error as Error)?.message).startsWith('NOSCRIPT')) throw error;
    return client.eval(script, options);
  }
}
