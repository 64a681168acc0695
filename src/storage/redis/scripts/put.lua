-- put_grant: a new grant (never replacing one) and, for client_credentials, its access token.
-- KEYS[1] grant, KEYS[2] access token (optional); ARGV: grant JSON, grant TTL, access JSON, access TTL.
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then return 0 end
if KEYS[2] then
  redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[4])
end
return 1
