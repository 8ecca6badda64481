-- Claim a user's request jti for a challenge, once.
-- KEYS[1] = {ch:u:<user digest>}, the user's hash: besides the budget fields
-- (one letter each) one field per claimed jti, named by its digest, holding
-- "<expires_at> <challenge id>".
-- ARGV[1] = now, ARGV[2] = expires_at, ARGV[3] = challenge id, ARGV[4] = the
-- jti's field
-- Returns the bound challenge id when the jti was seen and is still within
-- its lifetime, else nil (claimed now). Claims past their lifetime are
-- dropped on the way.
local key = KEYS[1]
local now = tonumber(ARGV[1])
local field = ARGV[4]
local seen = nil
local all = redis.call('HGETALL', key)
for i = 1, #all, 2 do
  local name, value = all[i], all[i + 1]
  if #name > 1 then
    local sep = string.find(value, ' ', 1, true)
    local till = sep and tonumber(string.sub(value, 1, sep - 1))
    if not till or now >= till then
      redis.call('HDEL', key, name)
    elseif name == field then
      seen = string.sub(value, sep + 1)
    end
  end
end
if seen then
  return seen
end
redis.call('HSET', key, field, ARGV[2] .. ' ' .. ARGV[3])
-- The key lives as long as its longest-lived part: a TTL where it has none,
-- a longer one where it has a shorter one (never shortened).
local want = math.max(tonumber(ARGV[2]) - now, 1)
redis.call('EXPIRE', key, want, 'NX')
redis.call('EXPIRE', key, want, 'GT')
return false
