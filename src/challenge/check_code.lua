-- One verification, atomically.
-- KEYS[1] = {ch:<id>}
-- ARGV[1] = now (unix s), ARGV[2] = MAC of the submitted code (32 bytes),
-- ARGV[3] = grace period (s) the record is kept past expires_at,
-- ARGV[4] = how long (s) from its creation an id stays marked as created
-- Returns {'expired'} | {'expired', record} (kept) | {'locked', record}
--       | {'locked'} (locked before: only its mark `k` is left, record.lua)
--       | {'success', record} | {'invalid', attempts_left}
-- where record = flat field/value list of the hash without the MAC.
local key = KEYS[1]
local now = tonumber(ARGV[1])
local given = ARGV[2]
local grace = tonumber(ARGV[3])

local f = redis.call('HMGET', key, 'e', 'a', 'p', 'm', 'k')
if f[5] then
  return {'locked'}
end
local expires_at = tonumber(f[1])
if not expires_at or now > expires_at + grace then
  return {'expired'}
end
local attempts = tonumber(f[2])
local policy = policy_of(f[3])
local stored = f[4]
if not attempts or not policy or not stored or #stored ~= 32 or #given ~= 32 then
  return redis.error_reply('CORRUPT challenge record or MAC is malformed')
end
local max_attempts = policy.max_attempts

-- Kept: a new code may still be asked for until the grace period ends.
if now > expires_at then
  return {'expired', record_of(key)}
end

if attempts + 1 > max_attempts then
  local r = record_of(key)
  retire(key, now, tonumber(ARGV[4]), true)
  return {'locked', r}
end

-- Constant time: every byte is compared, no early exit.
local diff = 0
for i = 1, 32 do
  diff = bit.bor(diff, bit.bxor(string.byte(stored, i), string.byte(given, i)))
end

if diff == 0 then
  local r = record_of(key)
  retire(key, now, tonumber(ARGV[4]), false)
  return {'success', r}
end

attempts = redis.call('HINCRBY', key, 'a', 1)
return {'invalid', max_attempts - attempts}
