/**
 * Compare-and-set on a `@keyv/redis` store: one Lua script (`util/redis-script.ts`: `EVAL` the first
 * time on a client, then `EVALSHA`), on the
 * adapter's own node-redis client. No import of `redis`: the client is the adapter's.
 * @module
 */
import { runScript, type ScriptClient } from '../util/redis-script.ts';
import { casResult } from '../util/compare-and-set.ts';
import type { CasResult, RecordCas } from './cas.ts';

/** Sets KEYS[1] to ARGV[2] only while it holds ARGV[1]; answers {1} or {0, current}. */
const CAS_SCRIPT = `local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return {1}
end
return {0, current}`;

/** What is used of a `@keyv/redis` adapter. */
interface KeyvRedisLike {
  getClient(): Promise<ScriptClient>;
  createKeyPrefix(key: string, namespace: string | undefined): string;
  namespace: string | undefined;
}

/** A {@link RecordCas} over a `@keyv/redis` adapter, or `undefined` when `store` is not one. */
export function redisRecordCas(store: object): RecordCas | undefined {
  const adapter = store as Partial<KeyvRedisLike>;
  if (typeof adapter.getClient !== 'function' || typeof adapter.createKeyPrefix !== 'function') return undefined;
  const redis = adapter as KeyvRedisLike;
  return {
    async compareAndSet(key: string, expected: string, next: string): Promise<CasResult> {
      const client = await redis.getClient();
      if (typeof client.evalSha !== 'function') throw new TypeError('The Redis client cannot run scripts');
      const options = { keys: [redis.createKeyPrefix(key, redis.namespace)], arguments: [expected, next] };
      return casResult(await runScript(client, CAS_SCRIPT, options));
    },
  };
}
