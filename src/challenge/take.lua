-- Delete a challenge and return it (cancel).
-- KEYS[1] = {ch:<id>}
-- Returns the record as a flat field/value list without the MAC (empty if unknown).
local key = KEYS[1]
local all = redis.call('HGETALL', key)
redis.call('DEL', key)
local out = {}
for i = 1, #all, 2 do
  if all[i] ~= 'mac' then
    out[#out + 1] = all[i]
    out[#out + 1] = all[i + 1]
  end
end
return out
