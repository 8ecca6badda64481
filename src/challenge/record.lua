-- Prepended to every script that reads or ends a challenge (see redis.rs,
-- `layout`, for the fields).

-- The challenge hash at `key` as a flat field/value list, without the MAC.
local function record_of(key)
  local all = redis.call('HGETALL', key)
  local out = {}
  for i = 1, #all, 2 do
    if all[i] ~= 'm' then
      out[#out + 1] = all[i]
      out[#out + 1] = all[i + 1]
    end
  end
  return out
end

-- A text field, put back together from its pieces (`name`, `name2`, ...);
-- nil when absent. Each piece's name follows from the pieces read so far,
-- so the loop ends at the first missing one.
local function text_of(key, name)
  local parts = {}
  local piece = redis.call('HGET', key, name)
  while piece do
    parts[#parts + 1] = piece
    piece = redis.call('HGET', key, name .. (#parts + 1))
  end
  if #parts == 0 then
    return nil
  end
  return table.concat(parts)
end

-- The policy field 'p': length, ttl, max attempts, resend cooldown, max resends.
local function policy_of(p)
  local length, ttl, max_attempts, cooldown, max_resends =
    string.match(p or '', '^(%d+) (%d+) (%d+) (%d+) (%d+)$')
  if not length then
    return nil
  end
  return {ttl = tonumber(ttl), max_attempts = tonumber(max_attempts),
    cooldown = tonumber(cooldown), max_resends = tonumber(max_resends)}
end

-- The challenge is over (used, locked, cancelled): its data goes, but while
-- a request for its id could still come back (`mark` seconds from its
-- creation) the key stays with its creation time alone, so that the id is
-- not created again: in `t`, or in `k` when its attempts were spent
-- (`locked`), so that a later submission is still answered locked. A TTL
-- that is not positive deletes the key at once: a challenge that ends after
-- its mark leaves nothing.
local function retire(key, now, mark, locked)
  local created = tonumber(redis.call('HGET', key, 't'))
  redis.call('DEL', key)
  if created then
    redis.call('HSET', key, locked and 'k' or 't', created)
    redis.call('EXPIRE', key, created + mark - now)
  end
end
