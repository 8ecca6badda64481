-- One step of the code mail's delivery, atomically.
-- KEYS[1] = {ch:<id>}
-- ARGV[1] = 'claim' | 'extend' | 'sent' | 'failed', ARGV[2] = now (unix s),
-- ARGV[3] = generation of the code the caller delivers (not read by 'claim'),
-- ARGV[4] = lease end (unix s; 'claim' and 'extend')
-- claim:  delivery is 'sending', its lease ran out (lease_until < now) and the
--         code has not expired -> lease_until = ARGV[4]
-- extend: delivery is 'sending' for this generation -> lease_until = ARGV[4]
-- sent / failed: delivery is 'sending' for this generation -> delivery = op
-- Returns the record (field/value list without the MAC) when the step
-- applied, else an empty list.
local key = KEYS[1]
local op = ARGV[1]
local now = tonumber(ARGV[2])
local f = redis.call('HMGET', key, 'delivery', 'generation', 'lease_until', 'expires_at')
if f[1] ~= 'sending' then
  return {}
end
local applies
if op == 'claim' then
  applies = tonumber(f[3]) < now and now <= tonumber(f[4])
else
  applies = f[2] == ARGV[3]
end
if not applies then
  return {}
end
if op == 'claim' or op == 'extend' then
  redis.call('HSET', key, 'lease_until', ARGV[4])
else
  redis.call('HSET', key, 'delivery', op)
end
return record_of(key)
