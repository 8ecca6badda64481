-- Charge (or refund) one unit of a counter that lives in a window: a user's
-- budget ({ch:user:<hex>}, fields 'failures' and 'challenges') or a send
-- limit ({ch:rate:<name>}, field 'mails').
-- KEYS[1] = the counter's hash
-- ARGV[1] = now, ARGV[2] = window (s), ARGV[3] = field, ARGV[4] = 1 (charge) or -1 (refund)
-- Returns {new count, window end}; a refund outside an open window returns {0, 0}.
local key = KEYS[1]
local now = tonumber(ARGV[1])
local delta = tonumber(ARGV[4])
local window_end = tonumber(redis.call('HGET', key, 'until'))
if not window_end or now >= window_end then
  if delta == -1 then
    return {0, 0}
  end
  redis.call('DEL', key)
  window_end = now + tonumber(ARGV[2])
  redis.call('HSET', key, 'until', window_end)
end
local count = redis.call('HINCRBY', key, ARGV[3], delta)
-- A refund at zero went one below it: back to zero.
if count == -1 then
  redis.call('HSET', key, ARGV[3], 0)
  count = 0
end
redis.call('EXPIRE', key, math.max(window_end - now, 1))
return {count, window_end}
