-- Swap in the MAC of a new code, if the rules allow it.
-- KEYS[1] = {ch:<id>}
-- ARGV[1] = now (unix s), ARGV[2] = new MAC (32 bytes), ARGV[3] = grace (s),
-- ARGV[4] = the new code sealed for delivery, ARGV[5] = delivery lease end
-- Returns {'expired'} | {'exhausted'} | {'cooldown', retry_after_secs}
--       | {'resent', record}. The attempt count is never touched.
-- After a delivery that failed for good the new code is free: no cooldown,
-- no resend counted (the user never got the previous one).
-- A challenge whose code expired (kept for the grace period) may still get a
-- new code, counted as a resend; the new code lives ttl_secs from now.
local key = KEYS[1]
local now = tonumber(ARGV[1])

local grace = tonumber(ARGV[3])

local f = redis.call('HMGET', key, 'expires_at', 'resends', 'max_resends',
  'last_sent_at', 'resend_cooldown_secs', 'delivery', 'ttl_secs')
local expires_at = tonumber(f[1])
if not expires_at or now > expires_at + grace then
  return {'expired'}
end
local ttl = tonumber(f[7])
if not ttl then
  return redis.error_reply('CORRUPT challenge record has no ttl_secs')
end
local lapsed = now > expires_at
local resends = tonumber(f[2])
local max_resends = tonumber(f[3])
local last_sent_at = tonumber(f[4])
local cooldown = tonumber(f[5])
if not resends or not max_resends or not last_sent_at or not cooldown or #ARGV[2] ~= 32 then
  return redis.error_reply('CORRUPT challenge record or MAC is malformed')
end

local free = f[6] == 'failed' and not lapsed
if not free then
  if resends >= max_resends then
    return {'exhausted'}
  end
  local resend_after = last_sent_at + cooldown
  if now < resend_after and not lapsed then
    return {'cooldown', resend_after - now}
  end
  redis.call('HINCRBY', key, 'resends', 1)
end
if lapsed then
  redis.call('HSET', key, 'expires_at', now + ttl)
  redis.call('EXPIRE', key, ttl + grace)
end

redis.call('HSET', key, 'mac', ARGV[2], 'last_sent_at', ARGV[1], 'sealed', ARGV[4],
  'delivery', 'sending', 'lease_until', ARGV[5])
redis.call('HINCRBY', key, 'generation', 1)

return {'resent', record_of(key)}
