-- Store a new challenge unless this id was ever created: a challenge with
-- this id is still kept, or its mark says it was created (and maybe used
-- and deleted since) while a request for it could still come back.
-- KEYS[1] = {ch:<id>}, KEYS[2] = {ch:<id>}:created (same slot)
-- ARGV[1] = now, ARGV[2] = grace (s), ARGV[3] = TTL (s), ARGV[4] = TTL of the mark (s),
-- ARGV[5..] = field, value, ...
-- Returns 1 when created, 0 when the id is taken.
local key = KEYS[1]
if redis.call('EXISTS', KEYS[2]) == 1 then
  return 0
end
local expires_at = tonumber(redis.call('HGET', key, 'expires_at'))
if expires_at and tonumber(ARGV[1]) <= expires_at + tonumber(ARGV[2]) then
  return 0
end
redis.call('DEL', key)
redis.call('HSET', key, unpack(ARGV, 5))
redis.call('EXPIRE', key, ARGV[3])
redis.call('SET', KEYS[2], '1', 'EX', ARGV[4])
return 1
