-- Claim a request jti for a challenge, once.
-- KEYS[1] = {ch:jti:<hex sha256(jti)>}
-- ARGV[1] = now, ARGV[2] = expires_at, ARGV[3] = challenge id, ARGV[4] = TTL (s)
-- Value: "<expires_at> <challenge id>". Returns the bound challenge id when the
-- jti was seen and is still within its lifetime, else nil (claimed now).
local key = KEYS[1]
local now = tonumber(ARGV[1])
local seen = redis.call('GET', key)
if seen then
  local sep = string.find(seen, ' ', 1, true)
  if sep then
    local till = tonumber(string.sub(seen, 1, sep - 1))
    if till and now < till then
      return string.sub(seen, sep + 1)
    end
  end
end
redis.call('SET', key, ARGV[2] .. ' ' .. ARGV[3], 'EX', ARGV[4])
return false
