-- Store a new challenge unless one with this id is still kept.
-- KEYS[1] = {ch:<id>}
-- ARGV[1] = now, ARGV[2] = grace (s), ARGV[3] = TTL (s), ARGV[4..] = field, value, ...
-- Returns 1 when created, 0 when the id is taken.
local key = KEYS[1]
local expires_at = tonumber(redis.call('HGET', key, 'expires_at'))
if expires_at and tonumber(ARGV[1]) <= expires_at + tonumber(ARGV[2]) then
  return 0
end
redis.call('DEL', key)
redis.call('HSET', key, unpack(ARGV, 4))
redis.call('EXPIRE', key, ARGV[3])
return 1
