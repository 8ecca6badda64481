-- Charge (or refund) one unit of a counter that lives in a window: a user's
-- budget ({ch:u:<digest>}, fields 'f' failures and 'c' challenges) or a send
-- limit ({ch:r:<name>}, field 'm' mails); field 'u' is the window end.
-- A user's hash also holds claimed request jtis (claim_jti.lua): they are
-- kept when a window restarts, and the key lives as long as the later of both.
-- KEYS[1] = the counter's hash
-- ARGV[1] = now, ARGV[2] = window (s), ARGV[3] = field, ARGV[4] = 1 (charge) or -1 (refund)
-- Returns {new count, window end}; a refund outside an open window returns {0, 0}.
local key = KEYS[1]
local now = tonumber(ARGV[1])
local delta = tonumber(ARGV[4])
local window_end = tonumber(redis.call('HGET', key, 'u'))
if not window_end or now >= window_end then
  if delta == -1 then
    return {0, 0}
  end
  redis.call('HDEL', key, 'f', 'c', 'm')
  window_end = now + tonumber(ARGV[2])
  redis.call('HSET', key, 'u', window_end)
end
local count = redis.call('HINCRBY', key, ARGV[3], delta)
-- A refund at zero went one below it: back to zero.
if count == -1 then
  redis.call('HSET', key, ARGV[3], 0)
  count = 0
end
-- A TTL where the key has none, a longer one where it has a shorter one
-- (never shortened: the claimed jtis may outlive the window).
local want = math.max(window_end - now, 1)
redis.call('EXPIRE', key, want, 'NX')
redis.call('EXPIRE', key, want, 'GT')
return {count, window_end}
