/**
 * The Lua scripts the Redis store runs. Each is atomic on the server, which
 * is what makes pod expiry and the lease safe with many processes. Pod
 * expiry uses the server's TIME, so processes with skewed clocks agree on
 * which pods are live. Key and channel names: docs/store.md.
 */

/** Milliseconds from the server clock. */
const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * KEYS: pods hash, expiry zset, revisions set. ARGV: id, pod JSON, ttl ms, revision, channel, event.
 * Both per-revision keys expire with their last pod, so a dead revision leaves nothing behind.
 */
export const REGISTER_POD = `${NOW}
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[1])
redis.call('SADD', KEYS[3], ARGV[4])
local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
local keep = tonumber(last[2]) - now + 1000
redis.call('PEXPIRE', KEYS[1], keep)
redis.call('PEXPIRE', KEYS[2], keep)
redis.call('PUBLISH', ARGV[5], ARGV[6])
return 1`;

/** KEYS: pods hash, expiry zset. ARGV: id, channel, event. */
export const REMOVE_POD = `local n = redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if n > 0 then redis.call('PUBLISH', ARGV[2], ARGV[3]) end
return n`;

/**
 * KEYS: pods hash, expiry zset, revisions set. ARGV: revision, channel, event.
 * Drops lapsed pods first (and tells subscribers), then returns the live pods' JSON.
 */
export const LIST_PODS = `${NOW}
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
for _, id in ipairs(lapsed) do redis.call('HDEL', KEYS[1], id) end
if #lapsed > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  redis.call('PUBLISH', ARGV[2], ARGV[3])
end
if redis.call('ZCARD', KEYS[2]) == 0 then
  redis.call('DEL', KEYS[1], KEYS[2])
  redis.call('SREM', KEYS[3], ARGV[1])
  return {}
end
return redis.call('HVALS', KEYS[1])`;

/** KEYS: lease key. ARGV: holder, ttl ms. Renews for the holder, takes a free lease, else refuses. */
export const ACQUIRE_LEASE = `local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if cur then return 0 end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0`;

/** KEYS: lease key. ARGV: holder. Only the holder can release. */
export const RELEASE_LEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;
