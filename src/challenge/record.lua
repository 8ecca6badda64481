-- Prepended to every script that answers with a challenge (see redis.rs).
-- The challenge hash at `key` as a flat field/value list, without the MAC.
local function record_of(key)
  local all = redis.call('HGETALL', key)
  local out = {}
  for i = 1, #all, 2 do
    if all[i] ~= 'mac' then
      out[#out + 1] = all[i]
      out[#out + 1] = all[i + 1]
    end
  end
  return out
end

