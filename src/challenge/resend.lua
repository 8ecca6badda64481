-- Swap in the MAC of a new code, if the rules allow it.
-- KEYS[1] = {ch:<id>}
-- ARGV[1] = now (unix s), ARGV[2] = new MAC (32 bytes), ARGV[3] = grace (s),
-- ARGV[4] = the new code sealed for delivery, ARGV[5] = delivery lease end
-- Returns {'expired'} | {'exhausted'} | {'cooldown', retry_after_secs}
--       | {'resent', record}. The attempt count is never touched.
-- After a delivery that failed for good (d = 2) the new code is free: no
-- cooldown, no resend counted (the user never got the previous one).
-- A challenge whose code expired (kept for the grace period) may still get a
-- new code, counted as a resend; the new code lives ttl seconds from now.
local key = KEYS[1]
local now = tonumber(ARGV[1])

local grace = tonumber(ARGV[3])

local f = redis.call('HMGET', key, 'e', 'r', 's', 'd', 'p')
local expires_at = tonumber(f[1])
if not expires_at or now > expires_at + grace then
  return {'expired'}
end
local policy = policy_of(f[5])
local resends = tonumber(f[2])
local last_sent_at = tonumber(f[3])
if not policy or not resends or not last_sent_at or #ARGV[2] ~= 32 then
  return redis.error_reply('CORRUPT challenge record or MAC is malformed')
end
local lapsed = now > expires_at

local free = f[4] == '2' and not lapsed
if not free then
  if resends >= policy.max_resends then
    return {'exhausted'}
  end
  local resend_after = last_sent_at + policy.cooldown
  if now < resend_after and not lapsed then
    return {'cooldown', resend_after - now}
  end
  redis.call('HINCRBY', key, 'r', 1)
end
if lapsed then
  redis.call('HSET', key, 'e', now + policy.ttl)
  redis.call('EXPIRE', key, policy.ttl + grace)
end

redis.call('HSET', key, 'm', ARGV[2], 's', ARGV[1], 'c', ARGV[4], 'd', 0, 'l', ARGV[5])
redis.call('HINCRBY', key, 'g', 1)

return {'resent', record_of(key)}
