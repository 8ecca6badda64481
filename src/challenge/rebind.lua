-- Point a live challenge at a newer request of the same login (Keycloak
-- re-rendered its step page): same realm, subject and nonce.
-- KEYS[1] = {ch:<id>}
-- ARGV[1] = now (unix s), ARGV[2] = realm, ARGV[3] = subject, ARGV[4] = nonce,
-- ARGV[5..] = field, value, ... of the new request jti and return_uri
-- (fields 'J', and 'Q' or 'X', with their continuation pieces)
-- Returns {'unchanged'} (unknown, expired or another login) | {'rebound', record}.
-- Only return_uri and request_jti change; attempts, resends, expiry and the MAC stay.
local key = KEYS[1]
local now = tonumber(ARGV[1])

local expires_at = tonumber(redis.call('HGET', key, 'e'))
if not expires_at or now > expires_at then
  return {'unchanged'}
end
local realm, subject, nonce = text_of(key, 'R'), text_of(key, 'U'), text_of(key, 'O')
if not realm or not subject or not nonce then
  return redis.error_reply('CORRUPT challenge record is malformed')
end

-- Constant time for the nonce: every byte position is compared, no early exit.
local given = ARGV[4]
local diff = 0
if #nonce ~= #given then
  diff = 1
end
for i = 1, math.max(#nonce, #given) do
  diff = bit.bor(diff, bit.bxor(string.byte(nonce, i) or 0, string.byte(given, i) or 0))
end
if realm ~= ARGV[2] then
  diff = 1
end
if subject ~= ARGV[3] then
  diff = 1
end
if diff ~= 0 then
  return {'unchanged'}
end

-- The old jti and return_uri go, with all their pieces.
local all = redis.call('HGETALL', key)
for i = 1, #all, 2 do
  local first = string.sub(all[i], 1, 1)
  if first == 'J' or first == 'Q' or first == 'X' then
    redis.call('HDEL', key, all[i])
  end
end
redis.call('HSET', key, unpack(ARGV, 5))

return {'rebound', record_of(key)}
