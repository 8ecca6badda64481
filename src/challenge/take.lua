-- Delete a challenge and return it (cancel).
-- KEYS[1] = {ch:<id>}
-- Returns the record as a flat field/value list without the MAC (empty if unknown).
local key = KEYS[1]
local out = record_of(key)
redis.call('DEL', key)
return out
