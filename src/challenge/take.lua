-- Delete a challenge and return it: cancelled, or closed because its
-- attempts are spent (then its mark says locked, record.lua `retire`).
-- KEYS[1] = {ch:<id>}
-- ARGV[1] = now (unix s), ARGV[2] = how long (s) from its creation an id
-- stays marked as created, ARGV[3] = 'locked' or 'cancelled'
-- Returns the record as a flat field/value list without the MAC (empty if
-- unknown, or if only the mark of a finished one is left).
local key = KEYS[1]
if not redis.call('HGET', key, 'e') then
  return {}
end
local out = record_of(key)
retire(key, tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3] == 'locked')
return out
