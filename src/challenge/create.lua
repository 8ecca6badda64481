-- Store a new challenge unless this id was ever created: its key is there
-- while the challenge is kept, and after it was used or cancelled for as long
-- as a request for it could still come back (record.lua, `retire`).
-- KEYS[1] = {ch:<id>}
-- ARGV[1] = TTL (s), ARGV[2..] = field, value, ...
-- Returns 1 when created, 0 when the id is taken.
local key = KEYS[1]
if redis.call('EXISTS', key) == 1 then
  return 0
end
redis.call('HSET', key, unpack(ARGV, 2))
redis.call('EXPIRE', key, ARGV[1])
return 1
