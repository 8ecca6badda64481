-- One step of the code mail's delivery, atomically.
-- KEYS[1] = {ch:<id>}
-- ARGV[1] = 'claim' | 'extend' | 'finish', ARGV[2] = now (unix s),
-- ARGV[3] = generation of the code the caller delivers (not read by 'claim'),
-- ARGV[4] = lease end (unix s; 'claim' and 'extend') or the outcome
-- ('finish': 1 sent, 2 failed)
-- Delivery states (field 'd'): 0 sending, 1 sent, 2 failed.
-- claim:  delivery is sending, its lease ran out (lease_until < now) and the
--         code has not expired -> lease_until = ARGV[4]
-- extend: delivery is sending for this generation -> lease_until = ARGV[4]
-- finish: delivery is sending for this generation -> delivery = ARGV[4]
-- Returns the record (field/value list without the MAC) when the step
-- applied, else an empty list.
local key = KEYS[1]
local op = ARGV[1]
local now = tonumber(ARGV[2])
local f = redis.call('HMGET', key, 'd', 'g', 'l', 'e')
if f[1] ~= '0' then
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
if op == 'finish' then
  redis.call('HSET', key, 'd', ARGV[4])
else
  redis.call('HSET', key, 'l', ARGV[4])
end
return record_of(key)
