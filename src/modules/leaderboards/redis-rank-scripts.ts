/**
 * Lua scripts of the Redis rank index: each call is one atomic round trip.
 *
 * Per board period: a sorted set Z whose members all score 0 and order by bytes (see rank-key.ts), and a
 * hash H of player → its current member, or 'x' + the version of its removal (a tombstone). Versions are
 * the 16 hex digits of the seq, compared as strings (fixed width, so string order is numeric order).
 *
 * "Built" is marked inside both keys — the member '' in Z (it sorts before every real member, so real ranks
 * are ZRANK - 1) and the field '' in H — rather than in a third key: losing either key (eviction, a manual
 * DEL) also loses its marker, and the index is then rebuilt instead of answering from half of itself.
 */

const PRELUDE = `
local function version(v)
  if string.byte(v, 1) == 120 then return string.sub(v, 2, 17) end
  return string.sub(v, 33, 48)
end
local function ready()
  return redis.call('HEXISTS', KEYS[2], '') == 1 and redis.call('ZSCORE', KEYS[1], '') ~= false
end
-- Applies one versioned write; returns the player's live member afterwards (false when removed or absent).
local function apply(player, member)
  local current = redis.call('HGET', KEYS[2], player)
  if current and version(current) >= string.sub(member, 33, 48) then
    if string.byte(current, 1) == 120 then return false end
    return current
  end
  if current and string.byte(current, 1) ~= 120 then redis.call('ZREM', KEYS[1], current) end
  redis.call('ZADD', KEYS[1], 0, member)
  redis.call('HSET', KEYS[2], player, member)
  return member
end
`;

/** KEYS Z, H; ARGV player, member. → {-1} not built (applied anyway) | {0} removed | {1, rank0, member}. */
export const UPSERT_LUA = `${PRELUDE}
local live = apply(ARGV[1], ARGV[2])
if not ready() then return {-1} end
if not live then return {0} end
return {1, redis.call('ZRANK', KEYS[1], live) - 1, live}`;

/** KEYS Z, H; ARGV player, version hex. Leaves a tombstone unless a newer version is there. */
export const REMOVE_LUA = `${PRELUDE}
local current = redis.call('HGET', KEYS[2], ARGV[1])
if current and version(current) >= ARGV[2] then return 0 end
if current and string.byte(current, 1) ~= 120 then redis.call('ZREM', KEYS[1], current) end
redis.call('HSET', KEYS[2], ARGV[1], 'x' .. ARGV[2])
return 1`;

/** KEYS Z, H; ARGV player. → {-1} not built | {0} no entry | {1, rank0, member}. */
export const RANK_LUA = `${PRELUDE}
if not ready() then return {-1} end
local current = redis.call('HGET', KEYS[2], ARGV[1])
if not current or string.byte(current, 1) == 120 then return {0} end
return {1, redis.call('ZRANK', KEYS[1], current) - 1, current}`;

/** KEYS Z, H; ARGV start (0-based), count. → {-1} | {1, start, members...}. */
export const RANGE_LUA = `${PRELUDE}
if not ready() then return {-1} end
local start = tonumber(ARGV[1])
local members = redis.call('ZRANGE', KEYS[1], start + 1, start + tonumber(ARGV[2]))
return {1, start, unpack(members)}`;

/** KEYS Z, H; ARGV member (a previous page's last), count. → {-1} | {1, start, members...} strictly after it. */
export const AFTER_LUA = `${PRELUDE}
if not ready() then return {-1} end
local start = redis.call('ZLEXCOUNT', KEYS[1], '-', '[' .. ARGV[1]) - 1
local members = redis.call('ZRANGEBYLEX', KEYS[1], '(' .. ARGV[1], '+', 'LIMIT', 0, tonumber(ARGV[2]))
return {1, start, unpack(members)}`;

/** KEYS Z, H; ARGV player, limit. → {-1} | {0} no entry | {1, start, members...} (see aroundWindow). */
export const AROUND_LUA = `${PRELUDE}
if not ready() then return {-1} end
local current = redis.call('HGET', KEYS[2], ARGV[1])
if not current or string.byte(current, 1) == 120 then return {0} end
local position = redis.call('ZRANK', KEYS[1], current) - 1
local total = redis.call('ZCARD', KEYS[1]) - 1
local limit = tonumber(ARGV[2])
local start = math.max(0, math.min(position - math.floor(limit / 2), total - limit))
local members = redis.call('ZRANGE', KEYS[1], start + 1, start + limit)
return {1, start, unpack(members)}`;

/** KEYS Z, H. → -1 not built | the number of entries. */
export const SIZE_LUA = `${PRELUDE}
if not ready() then return -1 end
return redis.call('ZCARD', KEYS[1]) - 1`;

/** KEYS Z, H, lock; ARGV token, lock ms, player, member, player, member... Applies a rebuild batch (versioned). */
export const LOAD_LUA = `${PRELUDE}
if redis.call('GET', KEYS[3]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[3], ARGV[2])
for i = 3, #ARGV, 2 do apply(ARGV[i], ARGV[i + 1]) end
return 1`;

/** KEYS Z, H, lock, periods; ARGV token, period, expire-at ms (0: none). Marks the index built. */
export const FINISH_LUA = `
if redis.call('GET', KEYS[3]) ~= ARGV[1] then return 0 end
redis.call('ZADD', KEYS[1], 0, '')
redis.call('HSET', KEYS[2], '', '1')
redis.call('SADD', KEYS[4], ARGV[2])
local at = tonumber(ARGV[3])
if at > 0 then
  redis.call('PEXPIREAT', KEYS[1], at)
  redis.call('PEXPIREAT', KEYS[2], at)
end
redis.call('DEL', KEYS[3])
return 1`;

/** KEYS Z, H, lock; ARGV token. Starts a rebuild from nothing: a half-present index is not trusted. */
export const RESET_LUA = `
if redis.call('GET', KEYS[3]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
return 1`;

/** KEYS Z, H. Marks an index not built (it missed a write while Redis was unreachable): the next use rebuilds it. */
export const INVALIDATE_LUA = `
redis.call('ZREM', KEYS[1], '')
redis.call('HDEL', KEYS[2], '')
return 1`;

/** KEYS lock; ARGV token. Releases the build lock if still ours. */
export const RELEASE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1`;
