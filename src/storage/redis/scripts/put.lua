-- put_grant: a new grant (never replacing one) and, for client_credentials, its access token.
-- KEYS[1] grant, KEYS[2] access token (with ARGV[3]), then the stats sets on one server;
-- ARGV: grant JSON, grant TTL, access JSON (optional), access TTL.
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then return 0 end
if ARGV[3] then
  redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[4])
  count('access', cjson.decode(ARGV[3]).expires_at, KEYS[2])
end
local g = cjson.decode(ARGV[1])
count_grant(g)
index_grant(g, tonumber(ARGV[2]))
if prefix then
  -- Prune the client's index on write: two other ids at random whose grant
  -- is gone (three drawn, the new one skipped), so that dead ids stay about
  -- as many as live ones at most.
  local index = prefix .. 'clientgrants:' .. g.client_id
  for _, id in ipairs(redis.call('SRANDMEMBER', index, 3)) do
    if id ~= g.id and redis.call('EXISTS', prefix .. '{' .. id .. '}:grant') == 0 then
      redis.call('SREM', index, id)
    end
  end
end
return 1
