/**
 * The Lua scripts of the Redis lock (renew, release, lease + read + in-flight marker, persist +
 * release), sent by `runScript` (`util/redis-script.ts`).
 * @module
 */

/** Extends the lease only while `owner` holds it. */
export const RENEW_SCRIPT = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end";
/**
 * Takes the lease (SET NX PX) and, when taken, reads the grant record KEYS[2] in the same round trip;
 * with ARGV[3] and ARGV[4], the record is then set to ARGV[4] if it is exactly ARGV[3] (answers
 * {1, value, 1}).
 */
export const ACQUIRE_AND_READ_SCRIPT = `if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {0} end
local current = redis.call('GET', KEYS[2])
if ARGV[4] and current == ARGV[3] then
  redis.call('SET', KEYS[2], ARGV[4])
  return {1, current, 1}
end
return {1, current, 0}`;
/**
 * Sets the record KEYS[2] to ARGV[3] only while it holds ARGV[2] (answers {1}, or {0, current}) and,
 * when it writes, releases the lease KEYS[1] of owner ARGV[1].
 */
export const CAS_AND_RELEASE_SCRIPT = `local current = redis.call('GET', KEYS[2])
if current ~= ARGV[2] then return {0, current} end
redis.call('SET', KEYS[2], ARGV[3])
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return {1}`;
/** Deletes the lease only while `owner` holds it. */
export const RELEASE_SCRIPT = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";
